/** Test helper: a comparable description of a directory tree (path, type, mode, owner, size, sha256, link, xattrs). */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { nativeFs } from '../native-fs.js';

/** One line per entry, sorted by path; `mtime` only when asked. */
export function treeManifest(root: string, opts: { mtime?: boolean; skipXattr?: (name: string) => boolean } = {}): string[] {
  const out: string[] = [];
  const nfs = nativeFs();
  const walk = (rel: string): void => {
    const p = rel === '' ? root : join(root, rel);
    const st = fs.lstatSync(p);
    const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'other';
    const f: string[] = [rel === '' ? '.' : rel, type, (st.mode & 0o7777).toString(8), `${st.uid}:${st.gid}`];
    if (type === 'file') f.push(String(st.size), createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16));
    if (type === 'symlink') f.push(`-> ${fs.readlinkSync(p)}`);
    if (type === 'char' || type === 'block') f.push(`dev=${st.rdev}`);
    if (type === 'file' && st.nlink > 1) f.push(`nlink=${st.nlink}`);
    if (opts.mtime && type !== 'symlink') f.push(`mtime=${Math.floor(st.mtimeMs / 1000)}`);
    const xs = nfs.llistxattr(p).filter((n) => !(opts.skipXattr?.(n) ?? false)).sort();
    for (const x of xs) f.push(`${x}=${nfs.lgetxattr(p, x)?.toString('hex')}`);
    out.push(f.join(' '));
    if (type === 'dir') for (const name of fs.readdirSync(p).sort()) walk(rel === '' ? name : `${rel}/${name}`);
  };
  walk('');
  return out;
}
