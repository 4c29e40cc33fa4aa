/** Choosing a mount driver and opening the snapshot store. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { copyDriver } from './drivers/copy.js';
import type { MountDriver } from './drivers/driver.js';
import { fuseOverlayfsDriver, fuseProblem } from './drivers/fuse-overlayfs.js';
import { overlayDriver } from './drivers/overlay.js';
import { SnapshotError } from './errors.js';
import { SnapshotStore, type HostRoot, type SnapshotterOptions } from './store.js';
import type { DriverName, Snapshotter } from './snapshotter.js';

const DRIVERS: Record<DriverName, MountDriver> = {
  overlay: overlayDriver,
  'fuse-overlayfs': fuseOverlayfsDriver,
  copy: copyDriver,
};

/** The outcome of probing one driver. */
export interface DriverProbe {
  driver: DriverName;
  ok: boolean;
  /** Why it does not work (with what to do), when !ok. */
  reason?: string;
}

/** Tries a real writable mount with `driver` in a scratch dir under `dir` (same file system as the store). */
async function tryMount(driver: MountDriver, dir: string): Promise<string | undefined> {
  const base = join(dir, `probe-${randomBytes(4).toString('hex')}`);
  const d = (n: string) => join(base, n);
  try {
    for (const n of ['l/fs', 'upper', 'work', 'merged']) fs.mkdirSync(d(n), { recursive: true });
    fs.writeFileSync(d('l/fs/probe'), 'x');
    await driver.mount({ lowers: [d('l/fs')], upper: d('upper'), work: d('work'), merged: d('merged') });
    try {
      fs.writeFileSync(d('merged/new'), 'y');
      fs.unlinkSync(d('merged/probe'));
      if (!fs.existsSync(d('upper/new'))) return 'writes do not reach the upper directory';
    } finally {
      await driver.unmount(d('merged'));
    }
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    // A FUSE mount can take a moment to go after its unmount (EBUSY): a leftover probe dir is harmless.
    try {
      fs.rmSync(base, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    } catch {
      // left under snapshots/tmp, removed with it
    }
  }
}

/**
 * Probes the drivers, fastest first, with a real mount under `<root>/snapshots/tmp`;
 * with `firstOnly`, stops at the first that works (a build needs one, `rbuild info` all).
 */
export async function probeDrivers(root: string, firstOnly = false): Promise<DriverProbe[]> {
  const dir = join(root, 'snapshots', 'tmp');
  fs.mkdirSync(dir, { recursive: true });
  const out: DriverProbe[] = [];
  const overlay = await tryMount(overlayDriver, dir);
  out.push(overlay === undefined ? { driver: 'overlay', ok: true } : { driver: 'overlay', ok: false, reason: overlay });
  if (firstOnly && overlay === undefined) return out;
  const fuse = fuseProblem() ?? (await tryMount(fuseOverlayfsDriver, dir));
  out.push(fuse === undefined ? { driver: 'fuse-overlayfs', ok: true } : { driver: 'fuse-overlayfs', ok: false, reason: fuse });
  if (firstOnly && fuse === undefined) return out;
  out.push({ driver: 'copy', ok: true });
  return out;
}

/** The fastest driver that works here (overlay, then fuse-overlayfs, then copy). */
export async function detectDriver(root: string): Promise<DriverName> {
  return (await probeDrivers(root, true)).find((p) => p.ok)!.driver;
}

/** Opens (creating if needed) the snapshot store at `<root>/snapshots/` with a driver. */
export async function createSnapshotter(options: SnapshotterOptions): Promise<Snapshotter & SnapshotStore> {
  const want = options.driver ?? 'auto';
  if (want !== 'auto' && !(want in DRIVERS)) {
    throw new SnapshotError('UNKNOWN_DRIVER', `unknown storage driver ${JSON.stringify(want)} (overlay, fuse-overlayfs, copy)`);
  }
  const name = want === 'auto' ? await detectDriver(options.root) : want;
  return new SnapshotStore(options.root, DRIVERS[name]);
}

/** A driver for stores that must not mount (outside the build namespace): every mount is refused. */
const noMounts: MountDriver = {
  name: 'copy',
  recordsUpper: true,
  async mount() {
    throw new SnapshotError('NEEDS_NAMESPACE', 'mounting a snapshot needs the build namespace');
  },
  async unmount() {},
};

/**
 * Opens the store for unmounted work only (prepareUnmounted, diff, commit,
 * exists) without probing a driver: for a process outside the build
 * namespace, where `hostRoot` ids are 0:0 inside (undefined for real root).
 */
export function openUnmountedSnapshotter(options: { root: string; hostRoot?: HostRoot }): Snapshotter & SnapshotStore {
  return new SnapshotStore(options.root, noMounts, options.hostRoot);
}
