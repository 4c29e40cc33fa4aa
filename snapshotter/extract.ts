/**
 * Extracts one layer tar into a directory in overlay form (see
 * overlay-form.ts), in one pass, safely: nothing outside `root` can be
 * created or changed. Rules, each refusal a LayerSecurityError naming the
 * entry: no absolute paths, no `..` components, no entry below a symlink
 * (parents are checked with lstat and never followed), hardlinks only to
 * regular files already extracted from this layer, files created with
 * O_EXCL|O_NOFOLLOW after removing whatever was there (so a symlink planted
 * under the same name is replaced, never written through), overlay's own
 * xattrs never taken from a tar. Synchronous fs calls: small files dominate
 * layers and one syscall per await would cost more than the decompression.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DiffIdMismatchError, LayerSecurityError } from './errors.js';
import { decompressLayer } from './decompress.js';
import { nativeFs } from './native-fs.js';
import { isOverlayXattr, isWhiteoutDevice, OPAQUE_MARKER, OPAQUE_XATTR, S_IFCHR, WHITEOUT_PREFIX } from './overlay-form.js';
import type { TarEntryHeader } from './tar-header.js';
import { readTar } from './tar-reader.js';

/** What an extraction reports: entries skipped and why. */
export interface ExtractResult {
  warnings: string[];
  /** sha256 of the uncompressed tar stream (`sha256:<hex>`). */
  diffId: string;
}

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const S_IFIFO = 0o010000;
const S_IFBLK = 0o060000;
const WRITE_BATCH = 1 << 20;

/** Splits an entry path into safe components, or throws. `.`-only paths give []. */
export function safeComponents(entry: string, raw: string, what = 'path'): string[] {
  if (raw.startsWith('/')) throw new LayerSecurityError(entry, `has an absolute ${what}`);
  const parts: string[] = [];
  for (const c of raw.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw new LayerSecurityError(entry, `has a ".." component in its ${what}`);
    if (c.includes('\0')) throw new LayerSecurityError(entry, `has a NUL byte in its ${what}`);
    parts.push(c);
  }
  return parts;
}

/** Extraction state for one layer into one directory. */
class Extractor {
  readonly warnings: string[] = [];
  /** Relative paths known to be real directories (created or lstat-checked). */
  private dirs = new Set<string>(['']);
  /** Directories whose metadata is applied at the end (children change their mtime). */
  private dirMeta = new Map<string, TarEntryHeader>();
  /** Regular files extracted from this layer: the only valid hardlink targets. */
  private files = new Set<string>();
  private readonly nfs = nativeFs();

  constructor(private readonly root: string) {}

  private abs(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }

  /** Makes sure every parent of `parts` is a real directory inside root, creating missing ones. */
  private ensureParents(entry: string, parts: string[]): void {
    let rel = '';
    for (let i = 0; i < parts.length - 1; i++) {
      rel = rel === '' ? parts[i]! : `${rel}/${parts[i]}`;
      if (this.dirs.has(rel)) continue;
      const p = this.abs(rel);
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (st === undefined) {
        fs.mkdirSync(p, { mode: 0o755 });
      } else if (st.isSymbolicLink()) {
        throw new LayerSecurityError(entry, `goes through the symlink ${JSON.stringify(rel)}`);
      } else if (!st.isDirectory()) {
        // A file where a directory is needed: tar semantics replace it.
        fs.rmSync(p, { force: true });
        fs.mkdirSync(p, { mode: 0o755 });
      }
      this.dirs.add(rel);
    }
  }

  /**
   * Removes whatever is at rel (any type) and forgets it. A symlink there came
   * from an earlier entry of this same layer: replacing it is the classic way
   * to trick extractors into writing through it, so the layer is refused.
   */
  private clear(entry: string, rel: string): void {
    const p = this.abs(rel);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) throw new LayerSecurityError(entry, `would replace the symlink ${JSON.stringify(rel)} of an earlier entry`);
    if (st.isDirectory()) {
      fs.rmSync(p, { recursive: true, force: true });
      const prefix = `${rel}/`;
      for (const d of this.dirs) if (d === rel || d.startsWith(prefix)) this.dirs.delete(d);
      for (const d of this.dirMeta.keys()) if (d === rel || d.startsWith(prefix)) this.dirMeta.delete(d);
      for (const f of this.files) if (f.startsWith(prefix)) this.files.delete(f);
    } else {
      fs.unlinkSync(p);
    }
    this.files.delete(rel);
  }

  /** Extracts one entry; consumes its body. */
  async entry(h: TarEntryHeader, body: () => AsyncGenerator<Buffer>, unsupportedType?: string): Promise<void> {
    const parts = safeComponents(h.path, h.path);
    if (unsupportedType !== undefined) {
      this.warnings.push(`${h.path}: skipped tar entry of unsupported type ${JSON.stringify(unsupportedType)}`);
      return;
    }
    if (parts.length === 0) {
      // The layer's root directory ("./"): its metadata applies to the snapshot root.
      if (h.type === 'dir') this.dirMeta.set('', h);
      return;
    }
    const name = parts[parts.length - 1]!;
    this.ensureParents(h.path, parts);
    const parentRel = parts.slice(0, -1).join('/');

    if (name === OPAQUE_MARKER) {
      this.nfs.lsetxattr(this.abs(parentRel), OPAQUE_XATTR, 'y');
      return;
    }
    if (name.startsWith(WHITEOUT_PREFIX)) {
      const target = name.slice(WHITEOUT_PREFIX.length);
      if (target === '' || target === '.' || target === '..') throw new LayerSecurityError(h.path, 'is a malformed whiteout');
      const rel = parentRel === '' ? target : `${parentRel}/${target}`;
      this.clear(h.path, rel);
      this.nfs.mknod(this.abs(rel), S_IFCHR | 0o000, 0);
      fs.lchownSync(this.abs(rel), h.uid, h.gid);
      return;
    }

    const rel = parts.join('/');
    const p = this.abs(rel);
    if (h.type === 'dir') {
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(p);
      } catch {
        /* absent */
      }
      if (st && !st.isDirectory()) this.clear(h.path, rel);
      if (!st || !st.isDirectory()) fs.mkdirSync(p, { mode: 0o700 });
      // `.wh.d` then `d/` in one layer (older writers) means a fresh directory: below must not show through.
      if (st && isWhiteoutDevice(st)) this.nfs.lsetxattr(p, OPAQUE_XATTR, 'y');
      this.dirs.add(rel);
      this.dirMeta.set(rel, h);
      this.setXattrs(h, p);
      return;
    }

    // Regular files skip the lstat: O_EXCL tells whether something is in the way.
    if (h.type !== 'file') this.clear(h.path, rel);
    switch (h.type) {
      case 'file':
        await this.writeFile(p, rel, h, body);
        this.files.add(rel);
        return; // metadata applied through the open descriptor
      case 'symlink':
        fs.symlinkSync(h.linkname ?? '', p);
        break;
      case 'hardlink': {
        const target = safeComponents(h.path, h.linkname ?? '', 'link target').join('/');
        if (!this.files.has(target)) {
          throw new LayerSecurityError(h.path, `is a hardlink to ${JSON.stringify(h.linkname)}, which is not a file of this layer`);
        }
        fs.linkSync(this.abs(target), p);
        this.files.add(rel);
        return; // a hardlink shares its target's metadata
      }
      case 'char':
      case 'block':
      case 'fifo': {
        const kind = h.type === 'fifo' ? S_IFIFO : h.type === 'char' ? S_IFCHR : S_IFBLK;
        const dev = h.type === 'fifo' ? 0 : makedev(h.devmajor ?? 0, h.devminor ?? 0);
        if (h.type === 'char' && dev === 0) {
          // A 0/0 device would read as a whiteout in overlay form.
          this.warnings.push(`${h.path}: skipped 0/0 character device`);
          return;
        }
        try {
          this.nfs.mknod(p, kind | (h.mode & 0o7777), dev);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'EPERM' && code !== 'EACCES') throw e;
          this.warnings.push(`${h.path}: skipped ${h.type} device ${h.devmajor}:${h.devminor} (${code}: cannot create device nodes here)`);
          return;
        }
        break;
      }
    }
    fs.lchownSync(p, h.uid, h.gid);
    if (h.type !== 'symlink') fs.chmodSync(p, h.mode & 0o7777); // after chown, which clears setuid
    this.setXattrs(h, p);
    fs.lutimesSync(p, h.mtime, h.mtime);
  }

  private async writeFile(p: string, rel: string, h: TarEntryHeader, body: () => AsyncGenerator<Buffer>): Promise<void> {
    const flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
    let fd: number;
    try {
      fd = fs.openSync(p, flags, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      this.clear(h.path, rel);
      fd = fs.openSync(p, flags, 0o600);
    }
    try {
      let batch: Buffer[] = [];
      let batched = 0;
      let pos = 0;
      let hole = false;
      const flush = (): void => {
        if (batched === 0) return;
        // Skip all-zero batches (sparse-safe big files); ftruncate below sets the length.
        if (batched >= 65536 && batch.every(isZero)) {
          hole = true;
        } else {
          let off = 0;
          while (off < batched) off += fs.writevSync(fd, off === 0 ? batch : [Buffer.concat(batch).subarray(off)], pos + off);
        }
        pos += batched;
        batch = [];
        batched = 0;
      };
      for await (const c of body()) {
        batch.push(c);
        batched += c.length;
        if (batched >= WRITE_BATCH) flush();
      }
      flush();
      if (hole) fs.ftruncateSync(fd, pos);
      // chown first: it clears setuid/setgid and security.capability.
      fs.fchownSync(fd, h.uid, h.gid);
      fs.fchmodSync(fd, h.mode & 0o7777);
      this.setXattrs(h, p);
      fs.futimesSync(fd, h.mtime, h.mtime);
    } finally {
      fs.closeSync(fd);
    }
  }

  private setXattrs(h: TarEntryHeader, p: string): void {
    if (!h.xattrs) return;
    for (const [name, value] of Object.entries(h.xattrs)) {
      if (isOverlayXattr(name)) {
        this.warnings.push(`${h.path}: ignored overlay xattr ${name}`);
        continue;
      }
      try {
        this.nfs.lsetxattr(p, name, value);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EPERM' && code !== 'EOPNOTSUPP' && code !== 'EACCES' && code !== 'EINVAL') throw e;
        this.warnings.push(`${h.path}: could not set xattr ${name} (${code})`);
      }
    }
  }

  /** Applies directory owners, modes and times, deepest first so parents keep theirs. */
  finish(): void {
    const rels = [...this.dirMeta.keys()].sort((a, b) => b.split('/').length - a.split('/').length);
    for (const rel of rels) {
      const h = this.dirMeta.get(rel)!;
      const p = this.abs(rel);
      fs.lchownSync(p, h.uid, h.gid);
      fs.chmodSync(p, h.mode & 0o7777);
      fs.lutimesSync(p, h.mtime, h.mtime);
    }
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i += 8) {
    if (i + 8 <= b.length) {
      if (b.readBigUInt64LE(i) !== 0n) return false;
    } else {
      for (let j = i; j < b.length; j++) if (b[j] !== 0) return false;
    }
  }
  return true;
}

/** Linux makedev for the new (large) encoding. */
function makedev(major: number, minor: number): number {
  return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12) | Math.floor(major / 4096) * 2 ** 32;
}

/** Wraps a byte source, hashing everything that passes through. */
async function* hashing(src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  for await (const c of src) {
    hash.update(c);
    yield Buffer.isBuffer(c) ? c : Buffer.from(c);
  }
}

/**
 * Extracts an uncompressed tar stream into `root` (which must exist) in overlay form.
 * Returns the warnings and the stream's sha256. On error `root` holds a partial tree: the caller deletes it.
 */
export async function extractTar(tar: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, root: string, signal?: AbortSignal): Promise<ExtractResult> {
  const hash = createHash('sha256');
  const x = new Extractor(root);
  for await (const e of readTar(hashing(tar, hash))) {
    signal?.throwIfAborted();
    await x.entry(e.header, e.body, e.unsupportedType);
  }
  x.finish();
  return { warnings: x.warnings, diffId: `sha256:${hash.digest('hex')}` };
}

/** Decompresses and extracts a layer blob into `root`, verifying its diff ID; throws DiffIdMismatchError. */
export async function extractLayer(
  blob: Readable,
  mediaType: string,
  root: string,
  expectedDiffId: string | undefined,
  signal?: AbortSignal,
): Promise<ExtractResult> {
  const tar = await decompressLayer(blob, mediaType, signal);
  try {
    const r = await extractTar(tar, root, signal);
    if (expectedDiffId !== undefined && r.diffId !== expectedDiffId) throw new DiffIdMismatchError(expectedDiffId, r.diffId);
    return r;
  } finally {
    tar.destroy();
    blob.destroy();
  }
}
