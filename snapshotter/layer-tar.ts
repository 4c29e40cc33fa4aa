/**
 * Writes a list of changes as a layer tar stream: whiteouts as `.wh.NAME`,
 * opaque directories as `.wh..wh..opq`, hardlinks inside the layer as tar
 * hardlinks, PAX where ustar falls short, mtimes clamped to
 * SOURCE_DATE_EPOCH, owners as seen by this process (inside the namespace).
 */
import * as fs from 'node:fs';
import type { Change } from './changes.js';
import { nativeFs } from './native-fs.js';
import { isOverlayXattr, OPAQUE_MARKER, WHITEOUT_PREFIX } from './overlay-form.js';
import { encodeTarHeader, tarPadding, tarTrailer, type TarEntryHeader } from './tar-header.js';

/** Options for layerTar. */
export interface LayerTarOptions {
  /** Clamp mtimes to at most this many seconds since the epoch. */
  sourceDateEpoch?: number;
}

const READ_CHUNK = 1 << 20;

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? '' : path.slice(0, i);
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The tar stream of `changes` (ends with the two zero blocks). */
export async function* layerTar(changes: readonly Change[], opts: LayerTarOptions = {}, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const nfs = nativeFs();
  const sde = opts.sourceDateEpoch;
  const clamp = (t: number): number => (sde !== undefined && t > sde ? sde : t);
  const inodes = new Map<string, string>();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // Small headers are gathered into bigger chunks: fewer, larger writes downstream.
  const take = (): Buffer => {
    const b = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    return b;
  };
  const push = (b: Buffer): boolean => {
    pending.push(b);
    pendingBytes += b.length;
    return pendingBytes >= 256 * 1024;
  };

  for (const c of changes) {
    signal?.throwIfAborted();
    if (c.kind === 'whiteout' || c.kind === 'opaque') {
      const parent = c.kind === 'opaque' ? c.path : parentOf(c.path);
      const name = c.kind === 'opaque' ? OPAQUE_MARKER : WHITEOUT_PREFIX + nameOf(c.path);
      const h: TarEntryHeader = { path: parent === '' ? name : `${parent}/${name}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: clamp(0) };
      if (push(encodeTarHeader(h))) yield take();
      continue;
    }
    const { st, abs, path } = c;
    const h: TarEntryHeader = {
      path,
      type: 'file',
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: 0,
      mtime: clamp(Math.floor(st.mtimeMs / 1000)),
    };
    if (st.isDirectory()) h.type = 'dir';
    else if (st.isSymbolicLink()) {
      h.type = 'symlink';
      h.linkname = fs.readlinkSync(abs);
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      h.type = st.isCharacterDevice() ? 'char' : 'block';
      h.devmajor = Math.floor(st.rdev / 256) & 0xfff; // Linux dev_t: major in bits 8-19, minor in 0-7 and 20-31
      h.devminor = (st.rdev & 0xff) | ((st.rdev >>> 12) & ~0xff);
    } else if (st.isFIFO()) h.type = 'fifo';
    else if (st.isSocket()) continue; // sockets cannot be archived (docker skips them too)
    const xattrs: Record<string, Buffer> = {};
    let nx = 0;
    for (const n of nfs.llistxattr(abs).sort()) {
      if (isOverlayXattr(n)) continue;
      const v = nfs.lgetxattr(abs, n);
      if (v !== null) {
        xattrs[n] = v;
        nx++;
      }
    }
    if (nx > 0) h.xattrs = xattrs;
    if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? inodes.get(key) : undefined;
      if (first !== undefined) {
        h.type = 'hardlink';
        h.linkname = first;
      } else {
        if (st.nlink > 1) inodes.set(key, path);
        h.size = st.size;
      }
    }
    if (h.type !== 'file' || h.size === 0) {
      if (push(encodeTarHeader(h))) yield take();
      continue;
    }
    // A regular file: header, then its bytes exactly as long as the header says.
    push(encodeTarHeader(h));
    const fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      let left = h.size;
      while (left > 0) {
        const want = Math.min(left, READ_CHUNK);
        const buf = Buffer.allocUnsafe(want);
        let n = 0;
        // Synchronous reads: the page cache answers at memory speed, and async
        // reads would queue behind the gzip jobs on libuv's thread pool.
        while (n < want) {
          const k = fs.readSync(fd, buf, n, want - n, null);
          if (k === 0) break;
          n += k;
        }
        if (n < want) buf.fill(0, n); // file shrank while archiving: keep the tar well-formed
        left -= want;
        if (push(buf)) yield take();
      }
    } finally {
      fs.closeSync(fd);
    }
    const pad = tarPadding(h.size);
    if (pad > 0 && push(Buffer.alloc(pad))) yield take();
  }
  push(tarTrailer());
  yield take();
}
