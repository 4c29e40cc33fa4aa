/**
 * Metadata-preserving copies of single entries and of a whole merged view:
 * owner, mode (setuid & co.), mtime, xattrs (overlay's own left out),
 * symlinks, device nodes, and hardlinks kept as hardlinks. ext4 has no
 * reflinks; copyFileSync still copies in the kernel (copy_file_range).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { LowerView } from './lower-view.js';
import { nativeFs } from './native-fs.js';
import { isOverlayXattr } from './overlay-form.js';

/** Hardlink bookkeeping: source inode key -> first destination path. */
export type InodeMap = Map<string, string>;

/** Copies xattrs of `src` onto `dest` (not overlay's own). */
export function copyXattrs(src: string, dest: string): void {
  const nfs = nativeFs();
  for (const name of nfs.llistxattr(src)) {
    if (isOverlayXattr(name)) continue;
    const v = nfs.lgetxattr(src, name);
    if (v !== null) nfs.lsetxattr(dest, name, v);
  }
}

/**
 * Applies owner, mode, xattrs of `src` and times of `st` to `dest` (directories:
 * call after their contents). Order matters: chown clears security.capability
 * and setuid, so xattrs and mode come after it.
 */
export function applyMeta(dest: string, st: fs.Stats, src?: string): void {
  fs.lchownSync(dest, st.uid, st.gid);
  if (!st.isSymbolicLink()) fs.chmodSync(dest, st.mode & 0o7777);
  if (src !== undefined) copyXattrs(src, dest);
  fs.lutimesSync(dest, st.atime, st.mtime);
}

/**
 * Copies one non-directory entry from `src` to `dest` (which must not exist).
 * With `inodes`, a source inode seen before becomes a hardlink to its first copy.
 */
export function copyNonDir(src: string, st: fs.Stats, dest: string, inodes?: InodeMap): void {
  if (inodes && st.nlink > 1 && !st.isSymbolicLink()) {
    const key = `${st.dev}:${st.ino}`;
    const first = inodes.get(key);
    if (first !== undefined) {
      fs.linkSync(first, dest);
      return;
    }
    inodes.set(key, dest);
  }
  if (st.isFile()) fs.copyFileSync(src, dest, fs.constants.COPYFILE_EXCL);
  else if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dest);
  else nativeFs().mknod(dest, st.mode, st.rdev);
  applyMeta(dest, st, src);
}

/** Copies the merged view into the empty directory `dest` (whiteouts and opaque markers resolved away). */
export function flattenView(view: LowerView, dest: string, signal?: AbortSignal): void {
  const inodes: InodeMap = new Map();
  const walk = (rel: string, destDir: string): void => {
    signal?.throwIfAborted();
    for (const [name, e] of view.entries(rel)) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const d = join(destDir, name);
      if (e.st.isDirectory()) {
        fs.mkdirSync(d, { mode: 0o700 });
        walk(r, d);
        applyMeta(d, e.st, e.abs);
      } else {
        copyNonDir(e.abs, e.st, d, inodes);
      }
    }
  };
  walk('', dest);
  const top = view.layers.length > 0 ? fs.lstatSync(view.layers[0]!) : undefined;
  if (top) {
    applyMeta(dest, top, view.layers[0]!);
  }
}
