/**
 * The snapshot store under `<root>/snapshots/`:
 *   by-chain/<hex>/fs         a committed layer in overlay form, by chain ID
 *   by-chain/<hex>/meta.json  { chainId, parent }
 *   flat/<hex>/fs             a folded (flattened) chain, for over-long overlay stacks
 *   active/<id>/{upper,work,merged,meta.json}  active snapshots by key (unmounted ones: upper only)
 *   tmp/                      staging; everything appears by rename(2), so atomically
 * Committed snapshots are identical whatever the driver, so stores can be shared
 * by drivers; only how an active snapshot is presented differs.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { changesFromCopy, changesFromUpper, FUSE_OPAQUE_DEVICE, OPAQUE_XATTRS, type Change } from './changes.js';
import { diffToLayer } from './diff.js';
import { applyMeta, copyNonDir, flattenView, type InodeMap } from './copy-tree.js';
import { copyDriver } from './drivers/copy.js';
import type { MountDriver } from './drivers/driver.js';
import { fuseOverlayfsDriver } from './drivers/fuse-overlayfs.js';
import { MOUNT_DATA_MAX, overlayDriver } from './drivers/overlay.js';
import { SnapshotError } from './errors.js';
import { extractLayer } from './extract.js';
import { LowerView } from './lower-view.js';
import { dropUnchanged } from './unchanged.js';
import { nativeFs } from './native-fs.js';
import { OPAQUE_MARKER, OPAQUE_XATTR, S_IFCHR, WHITEOUT_PREFIX, isOverlayXattr } from './overlay-form.js';
import type { ActiveSnapshot, BlobSink, Digest, DiffOptions, DriverName, LayerInfo, Snapshotter, UnmountedSnapshot, UnpackLayer, UnpackReport } from './snapshotter.js';

/** The kernel's overlay stack limit is 500 lowers; stay below it with room to spare. */
const MAX_LOWERS = 450;
/** Folded chains grow in steps of this many layers, so a flattened bottom is reused by the next steps. */
const FOLD_STRIDE = 16;
/** Room kept for upperdir, workdir and option names in the mount data page. */
const RESERVED_OPTION_BYTES = 1024;
/** ctime margin for the copy driver: the kernel stamps ctimes from a coarse clock. */
const CTIME_MARGIN_NS = 100_000_000n;

interface ActiveMeta {
  key: string;
  parent?: Digest;
  driver: DriverName;
  readonly: boolean;
  /** Copy driver: when the copy was complete (ns since the epoch, as a string). */
  since?: string;
  /** The lower directories used (top first), for the copy driver's diff. */
  lowers: string[];
  /** Prepared without a mount (prepareUnmounted): the caller wrote `upper` itself. */
  unmounted?: boolean;
}

const hex = (d: Digest): string => {
  if (!/^sha256:[0-9a-f]{64}$/.test(d)) throw new SnapshotError('INVALID_CHAIN_ID', `invalid chain ID ${JSON.stringify(d)}`);
  return d.slice(7);
};

/** Options for createSnapshotter. */
export interface SnapshotterOptions {
  /** The store root (`<root>/snapshots/` is used). */
  root: string;
  /** A driver to force, or 'auto' (default) to probe. */
  driver?: DriverName | 'auto';
}

/** Host ids that are 0:0 in the build namespace, for a store used outside it (see openUnmountedSnapshotter). */
export interface HostRoot {
  uid: number;
  gid: number;
}

/** The store, with one mount driver. */
export class SnapshotStore implements Snapshotter {
  readonly dir: string;
  private readonly parents = new Map<string, Digest | undefined>();

  /**
   * `hostRoot`: this process runs outside the build namespace, where files it
   * owns are root's; unmounted snapshots' changes are written with 0:0 for
   * them, and unpacking (which must write other owners) is refused.
   */
  constructor(
    root: string,
    private readonly mountDriver: MountDriver,
    private readonly hostRoot?: HostRoot,
  ) {
    this.dir = join(root, 'snapshots');
    for (const d of ['by-chain', 'flat', 'active', 'tmp', 'empty']) fs.mkdirSync(join(this.dir, d), { recursive: true });
  }

  get driver(): DriverName {
    return this.mountDriver.name;
  }

  private chainDir(id: Digest): string {
    return join(this.dir, 'by-chain', hex(id));
  }

  private activeDir(key: string): string {
    return join(this.dir, 'active', createHash('sha256').update(key).digest('hex').slice(0, 32));
  }

  private staging(): string {
    const d = join(this.dir, 'tmp', `${Date.now()}-${randomBytes(6).toString('hex')}`);
    fs.mkdirSync(d);
    return d;
  }

  async exists(chainId: Digest): Promise<boolean> {
    return fs.existsSync(join(this.chainDir(chainId), 'meta.json'));
  }

  /** The layer directories of a chain, top first. */
  chainLayers(chainId: Digest | undefined): string[] {
    const out: string[] = [];
    let cur = chainId;
    while (cur !== undefined) {
      const dir = this.chainDir(cur);
      out.push(join(dir, 'fs'));
      let parent = this.parents.get(cur);
      if (!this.parents.has(cur)) {
        let meta: { parent?: Digest };
        try {
          meta = JSON.parse(fs.readFileSync(join(dir, 'meta.json'), 'utf8')) as { parent?: Digest };
        } catch (cause) {
          throw new SnapshotError('SNAPSHOT_NOT_FOUND', `no committed snapshot ${cur}`, { cause });
        }
        parent = meta.parent;
        this.parents.set(cur, parent);
      }
      cur = parent;
    }
    return out;
  }

  /** Moves a staged `fs` dir in as the committed snapshot `chainId` (a no-op if another process won). */
  private publish(stage: string, chainId: Digest, parent: Digest | undefined): void {
    fs.writeFileSync(join(stage, 'meta.json'), JSON.stringify({ chainId, parent }));
    try {
      fs.renameSync(stage, this.chainDir(chainId));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      fs.rmSync(stage, { recursive: true, force: true });
    }
  }

  async unpack(layer: UnpackLayer, signal?: AbortSignal): Promise<UnpackReport> {
    if (await this.exists(layer.chainId)) return { warnings: [] };
    if (this.hostRoot) throw new SnapshotError('NEEDS_NAMESPACE', `cannot unpack ${layer.chainId} outside the build namespace`);
    if (layer.parent !== undefined && !(await this.exists(layer.parent))) {
      throw new SnapshotError('PARENT_MISSING', `cannot unpack ${layer.chainId}: parent snapshot ${layer.parent} is missing`);
    }
    const stage = this.staging();
    try {
      fs.mkdirSync(join(stage, 'fs'));
      const r = await extractLayer(await layer.open(), layer.mediaType, join(stage, 'fs'), layer.diffId, signal);
      this.publish(stage, layer.chainId, layer.parent);
      return { warnings: r.warnings };
    } catch (e) {
      fs.rmSync(stage, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * The lowers to mount for a chain: the layers themselves while they fit the
   * kernel's limits, else the top ones plus one flattened snapshot of the rest
   * (made once, cached under flat/).
   */
  private mountLowers(parent: Digest | undefined, signal?: AbortSignal): string[] {
    const layers = this.chainLayers(parent);
    if (layers.length === 0) return [join(this.dir, 'empty')];
    if (!this.mountDriver.recordsUpper) return layers;
    const budget = MOUNT_DATA_MAX - RESERVED_OPTION_BYTES - this.dir.length * 3;
    const base = join(this.dir, 'by-chain');
    let used = 0;
    let keep = 0;
    const flatCost = `../flat/${'0'.repeat(64)}/fs:`.length;
    for (const l of layers) {
      const cost = relative(base, l).length + 1;
      if (keep + 1 >= MAX_LOWERS || used + cost + flatCost > budget) break;
      used += cost;
      keep++;
    }
    if (keep === layers.length) return layers;
    // Fold the bottom layers into one flattened directory. The fold size is
    // rounded up to a multiple of FOLD_STRIDE so that the next build steps
    // (one more layer each) reuse the same flattened directory.
    const fold = Math.min(layers.length, Math.ceil((layers.length - keep) / FOLD_STRIDE) * FOLD_STRIDE);
    keep = layers.length - fold;
    let bottom: Digest | undefined = parent;
    for (let i = 0; i < keep; i++) bottom = this.parents.get(bottom!);
    const flat = join(this.dir, 'flat', hex(bottom!));
    if (!fs.existsSync(join(flat, 'fs'))) {
      const stage = this.staging();
      try {
        fs.mkdirSync(join(stage, 'fs'));
        flattenView(new LowerView(layers.slice(keep)), join(stage, 'fs'), signal);
        fs.renameSync(stage, flat);
      } catch (e) {
        fs.rmSync(stage, { recursive: true, force: true });
        if (!fs.existsSync(join(flat, 'fs'))) throw e;
      }
    }
    return [...layers.slice(0, keep), join(flat, 'fs')];
  }

  private async activate(key: string, parent: Digest | undefined, readonly: boolean, signal?: AbortSignal): Promise<ActiveSnapshot> {
    const dir = this.activeDir(key);
    if (fs.existsSync(join(dir, 'meta.json'))) throw new SnapshotError('KEY_EXISTS', `snapshot key ${JSON.stringify(key)} is in use`);
    // Leftovers of an interrupted prepare: unmount before deleting, never delete through a mount.
    if (fs.existsSync(dir)) await this.mountDriver.unmount(join(dir, 'merged'));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(join(dir, 'merged'), { recursive: true });
    const lowers = this.mountLowers(parent, signal);
    const spec = { lowers, merged: join(dir, 'merged') } as { lowers: string[]; merged: string; upper?: string; work?: string };
    if (!readonly && this.mountDriver.recordsUpper) {
      spec.upper = join(dir, 'upper');
      spec.work = join(dir, 'work');
      fs.mkdirSync(spec.upper);
      fs.mkdirSync(spec.work);
      // The new layer's root looks like the lower root (the root is never part of a layer).
      const top = fs.lstatSync(lowers[0]!);
      fs.chownSync(spec.upper, top.uid, top.gid);
      fs.chmodSync(spec.upper, top.mode & 0o7777);
    }
    const meta: ActiveMeta = { key, driver: this.driver, readonly, lowers };
    if (parent !== undefined) meta.parent = parent;
    try {
      await this.mountDriver.mount(spec, signal);
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    if (!this.mountDriver.recordsUpper) meta.since = String(BigInt(Date.now()) * 1_000_000n - CTIME_MARGIN_NS);
    fs.writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
    return { key, root: spec.merged, readonly };
  }

  async prepare(key: string, parent: Digest | undefined, signal?: AbortSignal): Promise<ActiveSnapshot> {
    return this.activate(key, parent, false, signal);
  }

  async prepareUnmounted(key: string, parent: Digest | undefined, signal?: AbortSignal): Promise<UnmountedSnapshot> {
    signal?.throwIfAborted();
    const dir = this.activeDir(key);
    if (fs.existsSync(join(dir, 'meta.json'))) throw new SnapshotError('KEY_EXISTS', `snapshot key ${JSON.stringify(key)} is in use`);
    if (fs.existsSync(join(dir, 'merged'))) await this.mountDriver.unmount(join(dir, 'merged'));
    fs.rmSync(dir, { recursive: true, force: true });
    // Every layer, unfolded: lookups have no stack limit, and folding would copy.
    const layers = this.chainLayers(parent);
    const upper = join(dir, 'upper');
    fs.mkdirSync(upper, { recursive: true });
    try {
      // The new layer's root looks like the lower root (the root is never part of a layer).
      const top = fs.lstatSync(layers[0] ?? join(this.dir, 'empty'));
      fs.chownSync(upper, top.uid, top.gid);
      fs.chmodSync(upper, top.mode & 0o7777);
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      if ((e as NodeJS.ErrnoException).code === 'EPERM') throw new SnapshotError('NEEDS_NAMESPACE', 'the root of the snapshot is owned by another user', { cause: e });
      throw e;
    }
    const meta: ActiveMeta = { key, driver: this.driver, readonly: false, lowers: layers, unmounted: true };
    if (parent !== undefined) meta.parent = parent;
    fs.writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
    return { key, upper, lower: new LowerView(layers) };
  }

  async view(key: string, parent: Digest | undefined, signal?: AbortSignal): Promise<ActiveSnapshot> {
    return this.activate(key, parent, true, signal);
  }

  private readMeta(key: string): ActiveMeta {
    try {
      return JSON.parse(fs.readFileSync(join(this.activeDir(key), 'meta.json'), 'utf8')) as ActiveMeta;
    } catch (cause) {
      throw new SnapshotError('KEY_NOT_FOUND', `no active snapshot ${JSON.stringify(key)}`, { cause });
    }
  }

  /** The changes of an active snapshot, in tar order. */
  changes(key: string, signal?: AbortSignal): Change[] {
    const meta = this.readMeta(key);
    const dir = this.activeDir(key);
    if (meta.readonly) return [];
    const lower = new LowerView(meta.lowers);
    if (meta.unmounted) return this.hostRoot ? changesFromUpper(join(dir, 'upper'), signal, lower).map((c) => inNamespaceIds(c, this.hostRoot!)) : changesFromUpper(join(dir, 'upper'), signal, lower);
    if (meta.driver === 'copy') return changesFromCopy(join(dir, 'merged'), lower, BigInt(meta.since ?? '0'), signal);
    return changesFromUpper(join(dir, 'upper'), signal, lower);
  }

  async diff(key: string, sink: BlobSink, options: DiffOptions, signal?: AbortSignal): Promise<LayerInfo | null> {
    return diffToLayer(this.changes(key, signal), sink, options, signal);
  }

  async commit(key: string, chainId: Digest, signal?: AbortSignal): Promise<void> {
    const meta = this.readMeta(key);
    const dir = this.activeDir(key);
    if (meta.readonly) throw new SnapshotError('READONLY', `snapshot ${JSON.stringify(key)} is a read-only view`);
    if (await this.exists(chainId)) {
      await this.remove(key);
      return;
    }
    const stage = this.staging();
    try {
      if (meta.unmounted) {
        // Written in overlay form by the caller: nothing to unmount or normalize.
        dropUnchanged(join(dir, 'upper'), new LowerView(meta.lowers), signal);
        fs.renameSync(join(dir, 'upper'), join(stage, 'fs'));
      } else if (meta.driver === 'copy') {
        fs.mkdirSync(join(stage, 'fs'));
        materialize(this.changes(key, signal), join(stage, 'fs'));
      } else {
        await this.mountDriver.unmount(join(dir, 'merged'));
        normalizeUpper(join(dir, 'upper'));
        dropUnchanged(join(dir, 'upper'), new LowerView(meta.lowers), signal);
        fs.renameSync(join(dir, 'upper'), join(stage, 'fs'));
      }
      this.publish(stage, chainId, meta.parent);
    } catch (e) {
      fs.rmSync(stage, { recursive: true, force: true });
      throw e;
    }
    await this.remove(key);
  }

  async remove(key: string): Promise<void> {
    const dir = this.activeDir(key);
    if (!fs.existsSync(dir)) return;
    if (fs.existsSync(join(dir, 'merged'))) await this.mountDriver.unmount(join(dir, 'merged'));
    fs.rmSync(dir, { recursive: true, force: true });
  }

  /**
   * Removes committed (and flattened) snapshots whose chain ID is not in `keep`; returns those removed.
   * Spared: what active snapshots stand on, and what was committed after `since` (ms; a build
   * running now may not have recorded it yet). Each goes out of by-chain/ by rename first, so a
   * half-deleted snapshot never looks committed.
   */
  async prune(keep: ReadonlySet<string>, since = Date.now()): Promise<Digest[]> {
    const spare = new Set(keep);
    for (const a of fs.readdirSync(join(this.dir, 'active'))) {
      try {
        const meta = JSON.parse(fs.readFileSync(join(this.dir, 'active', a, 'meta.json'), 'utf8')) as ActiveMeta;
        for (const l of meta.lowers) for (const m of l.matchAll(/(?:by-chain|flat)\/([0-9a-f]{64})\/fs/g)) spare.add(`sha256:${m[1]}`);
        if (meta.parent) for (const l of this.chainLayers(meta.parent)) spare.add(`sha256:${relative(join(this.dir, 'by-chain'), dirname(l))}`);
      } catch {
        // an active snapshot being set up or torn down: its lowers are in its mount
      }
    }
    const removed: Digest[] = [];
    for (const kind of ['by-chain', 'flat'] as const) {
      for (const name of fs.readdirSync(join(this.dir, kind))) {
        const id = `sha256:${name}` as Digest;
        const dir = join(this.dir, kind, name);
        if (spare.has(id) || !/^[0-9a-f]{64}$/.test(name)) continue;
        const st = fs.statSync(dir, { throwIfNoEntry: false });
        if (!st || st.mtimeMs >= since) continue;
        const gone = join(this.dir, 'tmp', `prune-${name}-${randomBytes(4).toString('hex')}`);
        fs.renameSync(dir, gone);
        fs.rmSync(gone, { recursive: true, force: true });
        if (kind === 'by-chain') {
          this.parents.delete(id);
          removed.push(id);
        }
      }
    }
    return removed;
  }
}

/**
 * A change as the build namespace sees it: `hostRoot`'s ids are 0 there. An
 * unmounted snapshot written outside the namespace can hold no other owner
 * (this process could not have created it), so any other id is refused.
 */
function inNamespaceIds(c: Change, hostRoot: HostRoot): Change {
  if (c.kind !== 'entry') return c;
  const { uid, gid } = c.st;
  if (uid !== hostRoot.uid || gid !== hostRoot.gid) {
    throw new SnapshotError('FOREIGN_OWNER', `${c.path} is owned by ${uid}:${gid}, which has no id in the build namespace here`);
  }
  const st = Object.assign(Object.create(Object.getPrototypeOf(c.st) as object) as fs.Stats, c.st, { uid: 0, gid: 0 });
  return { ...c, st };
}

/**
 * Puts an upper dir in the store's overlay form: fuse-overlayfs's `.wh.`
 * files and opaque xattrs become devices and `user.overlay.opaque`, overlay's
 * bookkeeping xattrs (origin, impure, ...) are dropped. One llistxattr per
 * entry and the readdir's file types instead of an lstat and four xattr calls:
 * a RUN that unpacks thousands of files commits them all through here.
 */
export function normalizeUpper(upper: string): void {
  const nfs = nativeFs();
  const walk = (dir: string): void => {
    // A directory's times are saved before the first change inside it and put back after.
    let saved: fs.Stats | undefined;
    const touch = (): void => {
      saved ??= fs.lstatSync(dir);
    };
    const replaced = new Set<string>();
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const name = e.name;
      const p = `${dir}/${name}`;
      if (name === OPAQUE_MARKER || name === FUSE_OPAQUE_DEVICE) {
        touch();
        fs.unlinkSync(p);
        nfs.lsetxattr(dir, OPAQUE_XATTR, 'y');
        continue;
      }
      if (name.startsWith(WHITEOUT_PREFIX)) {
        const tname = name.slice(WHITEOUT_PREFIX.length);
        const target = `${dir}/${tname}`;
        touch();
        fs.unlinkSync(p);
        fs.rmSync(target, { recursive: true, force: true });
        nfs.mknod(target, S_IFCHR, 0);
        replaced.add(tname); // its dirent below, if any, is stale: it is a whiteout device now
        continue;
      }
      if (replaced.has(name)) continue;
      const xattrs = nfs.llistxattr(p);
      if (xattrs.some(isOverlayXattr)) {
        const opaque = xattrs.some((x) => OPAQUE_XATTRS.includes(x) && nfs.lgetxattr(p, x)?.toString() === 'y');
        for (const x of xattrs) if (isOverlayXattr(x)) nfs.lremovexattr(p, x);
        if (opaque) nfs.lsetxattr(p, OPAQUE_XATTR, 'y');
      }
      if (e.isDirectory()) walk(p);
    }
    if (saved !== undefined) fs.lutimesSync(dir, saved.atime, saved.mtime);
  };
  walk(upper);
}

/** Writes a change list as a layer directory in overlay form (the copy driver's commit). */
export function materialize(changes: readonly Change[], dest: string): void {
  const nfs = nativeFs();
  const inodes: InodeMap = new Map();
  const dirs: Array<{ d: string; st: fs.Stats; abs: string }> = [];
  for (const c of changes) {
    const d = join(dest, c.path);
    fs.mkdirSync(dirname(d), { recursive: true });
    if (c.kind === 'whiteout') nfs.mknod(d, S_IFCHR, 0);
    else if (c.kind === 'opaque') nfs.lsetxattr(d, OPAQUE_XATTR, 'y');
    else if (c.st.isDirectory()) {
      fs.mkdirSync(d, { mode: 0o700 });
      dirs.push({ d, st: c.st, abs: c.abs });
    } else copyNonDir(c.abs, c.st, d, inodes);
  }
  for (const { d, st, abs } of dirs.reverse()) applyMeta(d, st, abs);
}
