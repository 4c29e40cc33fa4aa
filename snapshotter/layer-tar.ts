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

/** Bytes gathered before a chunk is handed downstream (a gzip block's worth of small files). */
const CHUNK = 256 * 1024;
/** Files up to this size are read straight into the chunk being gathered. */
const SMALL = 64 * 1024;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const { O_RDONLY, O_NOFOLLOW } = fs.constants;

/**
 * The tar stream of `changes` (ends with the two zero blocks). Headers and
 * small files are written into one slab per output chunk (no Buffer per file,
 * no concat); big files are read in READ_CHUNK pieces. Reads are synchronous:
 * the page cache answers at memory speed, and async reads would queue behind
 * the gzip jobs on libuv's thread pool.
 */
export async function* layerTar(changes: readonly Change[], opts: LayerTarOptions = {}, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const nfs = nativeFs();
  const sde = opts.sourceDateEpoch;
  const clamp = (t: number): number => (sde !== undefined && t > sde ? sde : t);
  const inodes = new Map<string, string>();
  // The slab being filled; handed downstream (never reused) once CHUNK bytes are in it.
  let slab = Buffer.allocUnsafe(CHUNK + SMALL + 8192);
  let used = 0;
  const room = (n: number): void => {
    if (used + n <= slab.length) return;
    // Big PAX headers (long xattrs): grow, keeping what is there.
    const bigger = Buffer.allocUnsafe(used + n + SMALL);
    slab.copy(bigger, 0, 0, used);
    slab = bigger;
  };
  const put = (b: Buffer): void => {
    room(b.length);
    b.copy(slab, used);
    used += b.length;
  };
  const full = (): boolean => used >= CHUNK;
  const take = (): Buffer => {
    const out = slab.subarray(0, used);
    slab = Buffer.allocUnsafe(CHUNK + SMALL + 8192);
    used = 0;
    return out;
  };

  for (const c of changes) {
    signal?.throwIfAborted();
    if (c.kind === 'whiteout' || c.kind === 'opaque') {
      const parent = c.kind === 'opaque' ? c.path : parentOf(c.path);
      const name = c.kind === 'opaque' ? OPAQUE_MARKER : WHITEOUT_PREFIX + nameOf(c.path);
      const h: TarEntryHeader = { path: parent === '' ? name : `${parent}/${name}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: clamp(0) };
      put(encodeTarHeader(h));
      if (full()) yield take();
      continue;
    }
    const { st, abs, path } = c;
    const fmt = st.mode & S_IFMT;
    if (fmt !== S_IFREG && fmt !== S_IFDIR && fmt !== S_IFLNK && fmt !== S_IFCHR && fmt !== S_IFBLK && fmt !== S_IFIFO) continue; // sockets cannot be archived (docker skips them too)
    const h: TarEntryHeader = {
      path,
      type: 'file',
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: 0,
      mtime: clamp(Math.floor(st.mtimeMs / 1000)),
    };
    if (fmt === S_IFDIR) h.type = 'dir';
    else if (fmt === S_IFLNK) {
      h.type = 'symlink';
      h.linkname = fs.readlinkSync(abs);
    } else if (fmt === S_IFCHR || fmt === S_IFBLK) {
      h.type = fmt === S_IFCHR ? 'char' : 'block';
      h.devmajor = Math.floor(st.rdev / 256) & 0xfff; // Linux dev_t: major in bits 8-19, minor in 0-7 and 20-31
      h.devminor = (st.rdev & 0xff) | ((st.rdev >>> 12) & ~0xff);
    } else if (fmt === S_IFIFO) h.type = 'fifo';
    const names = nfs.llistxattr(abs);
    if (names.length > 0) {
      const xattrs: Record<string, Buffer> = {};
      let nx = 0;
      for (const n of names.sort()) {
        if (isOverlayXattr(n)) continue;
        const v = nfs.lgetxattr(abs, n);
        if (v !== null) {
          xattrs[n] = v;
          nx++;
        }
      }
      if (nx > 0) h.xattrs = xattrs;
    }
    if (fmt === S_IFREG) {
      const key = st.nlink > 1 ? `${st.dev}:${st.ino}` : '';
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
      put(encodeTarHeader(h));
      if (full()) yield take();
      continue;
    }
    // A regular file: header, then its bytes exactly as long as the header says.
    const header = encodeTarHeader(h);
    const pad = tarPadding(h.size);
    const fd = fs.openSync(abs, O_RDONLY | O_NOFOLLOW);
    try {
      if (h.size <= SMALL) {
        room(header.length + h.size + pad);
        header.copy(slab, used);
        used += header.length;
        used += readFull(fd, slab, used, h.size);
        slab.fill(0, used, used + pad);
        used += pad;
        if (full()) yield take();
        continue;
      }
      put(header);
      let left = h.size;
      while (left > 0) {
        const want = Math.min(left, READ_CHUNK);
        const buf = Buffer.allocUnsafe(want);
        readFull(fd, buf, 0, want);
        left -= want;
        if (used > 0) yield take();
        yield buf;
      }
    } finally {
      fs.closeSync(fd);
    }
    if (pad > 0) {
      put(ZERO_PAD.subarray(0, pad));
      if (full()) yield take();
    }
  }
  put(tarTrailer());
  yield take();
}

const ZERO_PAD = Buffer.alloc(512);

/**
 * Reads exactly n bytes into buf at off; a file that shrank while archiving
 * is padded with zeros so the tar stays well-formed. Returns n.
 */
function readFull(fd: number, buf: Buffer, off: number, n: number): number {
  let got = 0;
  while (got < n) {
    const k = fs.readSync(fd, buf, off + got, n - got, null);
    if (k === 0) break;
    got += k;
  }
  if (got < n) buf.fill(0, off + got, off + n);
  return n;
}
