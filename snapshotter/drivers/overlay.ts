/**
 * Kernel overlayfs, always with `userxattr` (works in a user namespace since
 * 5.11 and as real root alike, so the store has one opaque-xattr scheme).
 * Lower paths are given relative to their common directory, with a chdir
 * around the mount(2) call, because the mount data is limited to one page;
 * the store folds chains that still do not fit (see lowerdir-budget.ts).
 * Writable mounts are `volatile` (as buildah's and podman's --rm containers):
 * a snapshot's upper never outlives the build that made it, so syncing it is
 * waste, and without the option every unmount syncfs()es the whole file
 * system under the store (and every fsync of a RUN step is a real one).
 */
import * as fs from 'node:fs';
import { dirname, relative } from 'node:path';
import { SnapshotError } from '../errors.js';
import { MNT_DETACH, MS_RDONLY, nativeFs } from '../native-fs.js';
import type { MountDriver, MountSpec } from './driver.js';

/** The longest mount data string the kernel accepts (one page, with its NUL). */
export const MOUNT_DATA_MAX = 4095;

/**
 * The overlay mount data for `spec`, with lowers relative to `base`; `volatile`
 * (default true) skips syncing a writable mount's upper (Linux 5.10+).
 */
export function overlayOptions(spec: MountSpec, base: string, volatile = true): string {
  const lowers = spec.lowers.map((l) => relative(base, l)).join(':');
  const parts = [`lowerdir=${lowers}`];
  if (spec.upper) {
    parts.push(`upperdir=${spec.upper}`, `workdir=${spec.work}`);
    // Safe because every prepare makes a fresh work dir: overlay refuses to mount a
    // work dir again after a volatile mount (work/incompat/volatile), and rbuild never does.
    if (volatile) parts.push('volatile');
  }
  parts.push('userxattr');
  return parts.join(',');
}

/** Whether the kernel took `volatile`; false after the first refusal (kernels before 5.10). */
let volatileWorks = true;

/** The directory the lowers are made relative to: the parent of their parents (the store's by-chain dir). */
export function lowerBase(lowers: string[]): string {
  return lowers.length > 0 ? dirname(dirname(lowers[0]!)) : '/';
}

/** Calls the mount with cwd at `base`, restoring it even on failure. */
function mountAt(base: string, data: string, target: string, flags: number): void {
  const cwd = process.cwd();
  process.chdir(base);
  try {
    nativeFs().mount('overlay', target, 'overlay', flags, data);
  } finally {
    process.chdir(cwd);
  }
}

/** The kernel overlay driver. */
export const overlayDriver: MountDriver = {
  name: 'overlay',
  recordsUpper: true,
  async mount(spec: MountSpec): Promise<void> {
    if (spec.lowers.length === 0) throw new SnapshotError('NO_LOWER', 'overlay needs at least one lower directory');
    if (!spec.upper && spec.lowers.length === 1) {
      // A read-only view of one layer: overlay wants two lowers without an upper, a bind mount is simpler.
      nativeFs().mount(spec.lowers[0]!, spec.merged, '', 4096 /* MS_BIND */, null);
      nativeFs().mount('', spec.merged, '', 4096 | 32 /* MS_REMOUNT */ | MS_RDONLY, null);
      return;
    }
    const base = lowerBase(spec.lowers);
    const flags = spec.upper ? 0 : MS_RDONLY;
    const data = overlayOptions(spec, base, volatileWorks);
    if (data.length > MOUNT_DATA_MAX) {
      throw new SnapshotError('MOUNT_OPTIONS_TOO_LONG', `overlay mount options are ${data.length} bytes (max ${MOUNT_DATA_MAX})`);
    }
    try {
      try {
        mountAt(base, data, spec.merged, flags);
      } catch (e) {
        // An older kernel does not know `volatile` (EINVAL): mount as before, and stop asking.
        if (!spec.upper || !volatileWorks || (e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        mountAt(base, overlayOptions(spec, base, false), spec.merged, flags);
        volatileWorks = false;
      }
    } catch (e) {
      throw new SnapshotError('MOUNT_FAILED', `mounting overlay on ${spec.merged}: ${(e as Error).message}`, { cause: e });
    }
  },
  async unmount(merged: string): Promise<void> {
    try {
      nativeFs().umount2(merged, 0);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'ENOENT') return; // not mounted
      if (code === 'EBUSY') {
        nativeFs().umount2(merged, MNT_DETACH);
        return;
      }
      throw e;
    }
  },
};

/** Whether a path is a mount point (its device differs from its parent's). */
export function isMountPoint(p: string): boolean {
  try {
    return fs.statSync(p).dev !== fs.statSync(dirname(p)).dev;
  } catch {
    return false;
  }
}
