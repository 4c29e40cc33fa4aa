/**
 * fuse-overlayfs, for kernels that refuse overlay in a user namespace. Needs
 * a usable /dev/fuse (0666 on standard distributions); the common failure
 * (0600 device) is reported with what to do.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { SnapshotError } from '../errors.js';
import { MNT_DETACH, nativeFs } from '../native-fs.js';
import type { MountDriver, MountSpec } from './driver.js';
import { lowerBase } from './overlay.js';
import { relative } from 'node:path';

/** Why fuse-overlayfs cannot work here, or undefined when it may. */
export function fuseProblem(): string | undefined {
  try {
    fs.closeSync(fs.openSync('/dev/fuse', 'r+'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return '/dev/fuse does not exist (load the fuse module: modprobe fuse)';
    if (code === 'EACCES' || code === 'EPERM') {
      return '/dev/fuse is not accessible to this user (it is usually mode 0666; as root: chmod 0666 /dev/fuse)';
    }
    return `/dev/fuse cannot be opened: ${(e as Error).message}`;
  }
  return undefined;
}

function run(cmd: string, args: string[], cwd: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new SnapshotError('DRIVER_UNAVAILABLE', `${cmd} is not installed (Debian package fuse-overlayfs)`) : e),
    );
    child.on('close', (code) => (code === 0 ? resolve() : reject(new SnapshotError('MOUNT_FAILED', `${cmd} exited with ${code}: ${stderr.trim()}`))));
  });
}

/** The fuse-overlayfs driver. */
export const fuseOverlayfsDriver: MountDriver = {
  name: 'fuse-overlayfs',
  recordsUpper: true,
  async mount(spec: MountSpec, signal?: AbortSignal): Promise<void> {
    const problem = fuseProblem();
    if (problem) throw new SnapshotError('FUSE_UNAVAILABLE', `fuse-overlayfs cannot run: ${problem}`);
    const base = lowerBase(spec.lowers);
    const opts = [`lowerdir=${spec.lowers.map((l) => relative(base, l)).join(':')}`];
    if (spec.upper) opts.push(`upperdir=${spec.upper}`, `workdir=${spec.work}`);
    // fuse-overlayfs forks into the background once the mount is up, so the command returning means ready.
    await run('fuse-overlayfs', ['-o', opts.join(','), spec.merged], base, signal);
  },
  async unmount(merged: string): Promise<void> {
    try {
      nativeFs().umount2(merged, 0);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'ENOENT') return;
      if (code === 'EPERM') {
        await new Promise<void>((res, rej) => execFile('fusermount3', ['-u', merged], (err) => (err ? rej(err) : res())));
        return;
      }
      if (code === 'EBUSY') {
        nativeFs().umount2(merged, MNT_DETACH);
        return;
      }
      throw e;
    }
  },
};
