/**
 * Where COPY, ADD and WORKDIR write: a snapshot written without a mount
 * (its upper directory, names resolved through the layers below; usable
 * outside the build namespace for root-owned files), else a mounted one.
 * Either way the changes become a layer.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, lstat, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Snapshotter } from '../../snapshotter/snapshotter.js';
import type { UpperWriter } from '../../snapshotter/upper-writer.js';
import type { LayerRef } from './cache.js';
import type { PathResolver } from './copy.js';
import { NeedsNamespaceError } from './errors.js';
import { commitLayer, diffLayer, ensureSnapshots, withSnapshot } from './layer-snapshots.js';
import type { BuildRun } from './build-run.js';
import type { StageState, UnmountedSnapshots } from './build-types.js';

/** Where a COPY, ADD or WORKDIR step writes. */
export interface WriteTarget {
  /** Host directory: a mounted root, or an unmounted snapshot's upper. */
  root: string;
  /** An unmounted snapshot's path resolver (copies up from the layers below); undefined on a mounted root. */
  resolve?: PathResolver;
  /** An unmounted snapshot's read-only lookup (host path of the merged entry, nothing copied up). */
  locate?: (imagePath: string) => string | undefined;
  /** Outside the build namespace: the host ids that are 0:0 inside; undefined when ids are the build's own. */
  hostRoot?: { uid: number; gid: number };
  /** A directory whose etc/passwd and etc/group are the step's (USER and --chown names). */
  userRoot(): Promise<string>;
}

/** An unmounted write that a mounted snapshot must redo (an archive to unpack, a path it does not emulate). */
export class UnmountedFallback extends Error {}

/** withUnmounted's "redo it mounted". */
export const FALLBACK = Symbol('fallback');

/** Whether an error from an unmounted step means "do it with a mount" rather than "the step fails". */
function needsMount(e: unknown): boolean {
  if (e instanceof UnmountedFallback) return true;
  const code = (e as { code?: unknown } | null)?.code;
  if ((e as Error | null)?.name === 'SnapshotError') return code === 'NEEDS_NAMESPACE' || code === 'UNMOUNTED_FALLBACK' || code === 'FOREIGN_OWNER';
  // Owners this process cannot give (outside the namespace): the namespace can.
  return code === 'EPERM' || code === 'EACCES';
}

/** A mounted root as a write target (ids are the build's own: this process is in the namespace). */
export function mountedTarget(root: string, userRoot = root): WriteTarget {
  return { root, userRoot: async () => userRoot };
}

/** An owner as this process must write it: root's (or none given) is `hostRoot` outside the namespace. */
export function hostOwner(t: WriteTarget, owner: { uid: number; gid: number } | undefined): { uid: number; gid: number } | undefined {
  if (!t.hostRoot) return owner;
  if (!owner || (owner.uid === 0 && owner.gid === 0)) return t.hostRoot;
  throw new NeedsNamespaceError();
}

/**
 * Runs a COPY/ADD/WORKDIR `work` on a writable snapshot of `state` and turns its changes into a
 * layer: unmounted when the snapshotter can (no mount, no namespace for root-owned writes), else
 * mounted as withSnapshot does. Outside the namespace, what needs it throws NeedsNamespaceError.
 */
export async function withWritable(run: BuildRun, state: StageState, work: (t: WriteTarget) => Promise<void>): Promise<LayerRef | undefined> {
  const { deps } = run;
  const direct = deps.unmountedSnapshotter ? await deps.unmountedSnapshotter() : undefined;
  if (direct?.snapshotter.prepareUnmounted) {
    const r = await withUnmounted(run, direct, state.layers, work, true);
    if (r !== FALLBACK) return r;
    if (direct.hostRoot) throw new NeedsNamespaceError();
  }
  return withSnapshot(run, state, (root) => work(mountedTarget(root)));
}

/** withWritable's unmounted half; FALLBACK when a mounted snapshot must redo the step. */
export async function withUnmounted(
  run: BuildRun, direct: UnmountedSnapshots, layers: LayerRef[], work: (t: WriteTarget) => Promise<void>, commit: boolean, usersFrom?: LayerRef[],
): Promise<LayerRef | undefined | typeof FALLBACK> {
  const { signal } = run;
  const snap = direct.snapshotter;
  const key = `build-${randomBytes(8).toString('hex')}`;
  let users: string | undefined;
  try {
    const parent = await ensureSnapshots(run, layers, snap);
    const active = await snap.prepareUnmounted!(key, parent, signal);
    // Loaded on first use: a fully cached rebuild does not pay for it.
    const { UpperWriter } = await import('../../snapshotter/upper-writer.js');
    const writer = new UpperWriter(active.upper, active.lower);
    const target: WriteTarget = {
      root: active.upper,
      resolve: (p, followLast) => writer.resolve(p, followLast),
      locate: (p) => writer.locate(p, true),
      ...(direct.hostRoot ? { hostRoot: direct.hostRoot } : {}),
      userRoot: async () => (users ??= usersFrom ? await usersDirOf(run, snap, usersFrom) : await usersDir(run, writer)),
    };
    await work(target);
    writer.finish();
    const layer = await diffLayer(run, snap, key);
    if (layer && commit) await commitLayer(run, snap, key, layers, layer);
    return layer;
  } catch (e) {
    if (needsMount(e) && !signal?.aborted) return FALLBACK;
    throw e;
  } finally {
    await snap.remove(key);
    if (users) await rm(users, { recursive: true, force: true });
  }
}

/**
 * COPY --link without a mount: the files go into an empty unmounted snapshot (not committed:
 * its chain is not a full root); names resolve against the stage's own /etc/passwd.
 */
export async function withLinkUnmounted(run: BuildRun, state: StageState, work: (t: WriteTarget) => Promise<void>): Promise<LayerRef | undefined | typeof FALLBACK> {
  const { deps } = run;
  const direct = deps.unmountedSnapshotter ? await deps.unmountedSnapshotter() : undefined;
  if (!direct?.snapshotter.prepareUnmounted) return FALLBACK;
  const r = await withUnmounted(run, direct, [], work, false, state.layers);
  if (r === FALLBACK && direct.hostRoot) throw new NeedsNamespaceError();
  return r;
}

/** usersDir for a chain read through an unmounted snapshot of it (nothing written there). */
async function usersDirOf(run: BuildRun, snap: Snapshotter, layers: LayerRef[]): Promise<string> {
  const parent = await ensureSnapshots(run, layers, snap);
  const key = `users-${randomBytes(8).toString('hex')}`;
  const active = await snap.prepareUnmounted!(key, parent, run.signal);
  try {
    const { UpperWriter } = await import('../../snapshotter/upper-writer.js');
    return await usersDir(run, new UpperWriter(active.upper, active.lower));
  } finally {
    await snap.remove(key);
  }
}

/** A directory holding the merged root's /etc/passwd and /etc/group (regular files only, as passwd.ts reads them). */
async function usersDir(run: BuildRun, writer: UpperWriter): Promise<string> {
  const dir = join(run.opts.root, 'tmp', `users-${randomBytes(6).toString('hex')}`);
  await mkdir(join(dir, 'etc'), { recursive: true });
  for (const f of ['passwd', 'group']) {
    const src = writer.locate(`/etc/${f}`, false);
    if (src && (await lstat(src)).isFile()) await copyFile(src, join(dir, 'etc', f));
  }
  return dir;
}
