/**
 * --squash: the final stage's own layers become one. The squashed layer is the
 * diff of a snapshot of the base made identical to the final file system:
 * syncTree changes only what differs (type, mode, owner, size, mtime, link
 * target), so unchanged base files are not copied up and stay out of the layer.
 * Hard links are copied as separate files and xattrs are not carried over.
 */
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, utimes } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';

function same(a: Stats, b: Stats): boolean {
  return (a.mode & 0o170000) === (b.mode & 0o170000) && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.size === b.size && Math.abs(a.mtimeMs - b.mtimeMs) < 1 && a.rdev === b.rdev;
}

/** Makes `dst` a copy of `src` by changing only entries that differ; returns how many entries changed. */
export async function syncTree(src: string, dst: string, signal?: AbortSignal): Promise<number> {
  let changed = 0;
  const walk = async (s: string, d: string): Promise<void> => {
    signal?.throwIfAborted();
    const want = new Set(await readdir(s));
    for (const name of await readdir(d)) if (!want.has(name)) {
      await rm(join(d, name), { recursive: true, force: true });
      changed++;
    }
    for (const name of [...want].sort()) {
      const sp = join(s, name);
      const dp = join(d, name);
      const ss = await lstat(sp);
      const ds = await lstat(dp).catch(() => undefined);
      if (ss.isDirectory()) {
        if (ds && !ds.isDirectory()) await rm(dp, { recursive: true, force: true });
        if (!ds || !ds.isDirectory()) {
          await mkdir(dp);
          changed++;
        }
        await walk(sp, dp);
        const now = await lstat(dp);
        if (!same(ss, now)) {
          await lchown(dp, ss.uid, ss.gid);
          await chmod(dp, ss.mode & 0o7777);
          await utimes(dp, ss.atime, ss.mtime);
          changed++;
        }
        continue;
      }
      if (ds && same(ss, ds) && (!ss.isSymbolicLink() || (await readlink(sp)) === (await readlink(dp)))) continue;
      if (ds) await rm(dp, { recursive: true, force: true });
      if (ss.isSymbolicLink()) {
        await symlink(await readlink(sp), dp);
        await lchown(dp, ss.uid, ss.gid);
        await lutimes(dp, ss.atime, ss.mtime);
      } else if (ss.isFile()) {
        await copyFile(sp, dp);
        await lchown(dp, ss.uid, ss.gid);
        await chmod(dp, ss.mode & 0o7777);
        await utimes(dp, ss.atime, ss.mtime);
      } else {
        continue; // devices, fifos, sockets: not made by build steps
      }
      changed++;
    }
  };
  await walk(src, dst);
  return changed;
}
