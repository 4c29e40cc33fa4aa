/**
 * Extracts one layer tar into a directory in overlay form (see
 * overlay-form.ts), in one pass, safely: nothing outside `root` can be
 * created or changed. Rules, each refusal a LayerSecurityError naming the
 * entry: no absolute paths, no `..` components; an entry below a symlink made
 * earlier in the layer is placed where the link leads as if root were `/`
 * (containerd's semantics: an absolute target starts again at root), and
 * refused when a `..` would climb above root; parents are checked with lstat
 * and the real path is used, so the kernel never follows a link for us;
 * hardlinks only to regular files already extracted from this layer, files
 * created with O_EXCL|O_NOFOLLOW (a symlink planted under the same name is
 * never written through, and replacing it is refused), overlay's own xattrs
 * never taken from a tar. Synchronous fs calls: small files dominate layers
 * and one syscall per await would cost more than the decompression; the
 * small files themselves are created on two worker threads (small-file-batch.ts).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { DiffIdMismatchError, LayerSecurityError } from './errors.js';
import { decompressLayer } from './decompress.js';
import { nativeFs, type FileQueueFailure } from './native-fs.js';
import { isOverlayXattr, isWhiteoutDevice, OPAQUE_MARKER, OPAQUE_XATTR, S_IFCHR, WHITEOUT_PREFIX } from './overlay-form.js';
import type { TarEntryHeader } from './tar-header.js';
import { SmallFileBatch, type QueuedFile } from './small-file-batch.js';
import { TarParser, type TarHandler } from './tar-reader.js';

/** What an extraction reports: entries skipped and why. */
export interface ExtractResult {
  warnings: string[];
  /** sha256 of the uncompressed tar stream (`sha256:<hex>`). */
  diffId: string;
}

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
const S_IFIFO = 0o010000;
const S_IFBLK = 0o060000;
const S_ISGID = 0o2000;
/** Bodies are written in pieces of at most this size; all-zero pieces become holes. */
const WRITE_BATCH = 1 << 20;
const ZEROS = Buffer.alloc(WRITE_BATCH);
/** Symlinks followed while resolving one entry's parent, as the kernel's ELOOP limit. */
const MAX_SYMLINK_HOPS = 40;
/** Threads creating small files: both cores, while the JS thread parses and gunzip inflates. */
const FILE_THREADS = 2;

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

/** Open file being written from a body that arrives in pieces. */
interface OpenFile {
  fd: number;
  h: TarEntryHeader;
  p: string;
  batch: Buffer[];
  batched: number;
  pos: number;
  hole: boolean;
}

/** What a directory entry asks for, applied at the end (children change its mtime). */
interface DirMeta {
  h: TarEntryHeader;
  /** The mode mkdir gave it (after the umask), or undefined when it existed before. */
  made?: number;
}

/** Extraction state for one layer into one directory; fed synchronously by TarParser. */
/** Overlay xattrs that only serve overlayfs's own bookkeeping, dropped without a warning. */
const OVERLAY_BOOKKEEPING = /^(trusted|user)\.overlay\.(origin|impure|nlink)$/;

class Extractor implements TarHandler {
  readonly warnings: string[] = [];
  /** Relative paths known to be real directories (created or lstat-checked); never through a symlink. */
  private dirs = new Set<string>(['']);
  private dirMeta = new Map<string, DirMeta>();
  /** Regular files extracted from this layer (real paths): the only valid hardlink targets. */
  private files = new Set<string>();
  private readonly nfs = nativeFs();
  private cur: OpenFile | undefined;
  /** Who owns what this process creates: chown is skipped when an entry asks for exactly that. */
  private readonly euid = process.geteuid?.() ?? -1;
  private readonly egid = process.getegid?.() ?? -1;
  /** A setgid directory gives new files its group instead of ours: once one is seen, owners are always set. */
  private setgidSeen: boolean;
  /** New files get their mode from open() when the umask lets them. */
  private readonly umask = processUmask();
  /** Small files on their way to the worker threads; a path it holds is touched only after settle(). */
  private readonly batch: SmallFileBatch;

  constructor(private readonly root: string) {
    this.setgidSeen = (fs.statSync(root).mode & S_ISGID) !== 0;
    this.batch = new SmallFileBatch(this.nfs, root, FILE_THREADS, (f, failure) => this.redo(f, failure));
  }

  /** Waits for a pending small file at rel before rel is looked at or changed. */
  private settle(rel: string): void {
    if (this.batch.pending(rel)) this.batch.settle();
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  private ownedByUs(h: TarEntryHeader): boolean {
    return !this.setgidSeen && h.uid === this.euid && h.gid === this.egid;
  }

  /** Whether a node created with `mode` (through the umask) needs a chmod to get h.mode. */
  private needsChmod(h: TarEntryHeader, created: number): boolean {
    return (created & ~this.umask & 0o7777) !== (h.mode & 0o7777);
  }

  /**
   * The real directory (relative to root, no symlinks) that the components
   * `comps` name, creating missing directories when `create`; undefined when
   * it does not exist and create is false. Symlinks met on the way (made by an
   * earlier entry of this layer, e.g. `lib -> usr/lib` or `var/run -> /run`
   * then `lib/x.so`) are followed inside root as if root were `/`, as
   * containerd's fs.RootPath does: an absolute target starts again at root,
   * never at the host's `/`. A `..` that would climb above root (which
   * containerd clamps) makes the layer refused: no real image needs it.
   */
  private resolveDir(entry: string, comps: string[], create: boolean): string | undefined {
    const key = comps.join('/');
    if (this.dirs.has(key)) return key;
    const todo = comps.slice().reverse();
    let rel = '';
    let hops = 0;
    while (todo.length > 0) {
      const c = todo.pop()!;
      if (c === '..') {
        // Only from a symlink target; rel is a real directory, so its parent is the lexical one.
        if (rel === '') throw new LayerSecurityError(entry, 'goes through a symlink that leads above the layer root');
        rel = rel.slice(0, Math.max(0, rel.lastIndexOf('/')));
        continue;
      }
      const next = rel === '' ? c : `${rel}/${c}`;
      if (this.dirs.has(next)) {
        rel = next;
        continue;
      }
      const p = this.abs(next);
      this.settle(next);
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (st === undefined) {
        if (!create) return undefined;
        fs.mkdirSync(p, { mode: 0o755 });
      } else if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) throw new LayerSecurityError(entry, `goes through too many symlinks (${JSON.stringify(next)})`);
        const target = fs.readlinkSync(p);
        if (target === '') throw new LayerSecurityError(entry, `goes through the symlink ${JSON.stringify(next)}, which has an empty target`);
        const tc = target.split('/');
        for (let i = tc.length - 1; i >= 0; i--) if (tc[i] !== '' && tc[i] !== '.') todo.push(tc[i]!);
        // A relative target starts from the link's own directory (rel stays); an absolute one from root.
        if (target.startsWith('/')) rel = '';
        continue;
      } else if (!st.isDirectory()) {
        if (!create) return undefined;
        // A file where a directory is needed: tar semantics replace it.
        this.clear(entry, next);
        fs.mkdirSync(p, { mode: 0o755 });
      } else if ((st.mode & S_ISGID) !== 0) {
        this.setgidSeen = true;
      }
      this.dirs.add(next);
      rel = next;
    }
    return rel;
  }

  /**
   * Removes whatever is at rel (any type) and forgets it. A symlink there came
   * from an earlier entry of this same layer: replacing it is the classic way
   * to trick extractors into writing through it, so the layer is refused.
   */
  private clear(entry: string, rel: string): void {
    const p = this.abs(rel);
    this.settle(rel);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) throw new LayerSecurityError(entry, `would replace the symlink ${JSON.stringify(rel)} of an earlier entry`);
    if (st.isDirectory()) {
      // Pending small files may be below it: they land first, then go with it.
      this.batch.settle();
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

  /** One entry starts (TarHandler). */
  entry(h: TarEntryHeader, unsupportedType: string | undefined, body: Buffer | undefined): void {
    const parts = safeComponents(h.path, h.path);
    if (unsupportedType !== undefined) {
      this.warnings.push(`${h.path}: skipped tar entry of unsupported type ${JSON.stringify(unsupportedType)}`);
      return;
    }
    if (parts.length === 0) {
      // The layer's root directory ("./"): its metadata applies to the snapshot root.
      if (h.type === 'dir') this.dirMeta.set('', { h });
      return;
    }
    const name = parts.pop()!;
    const parentRel = this.resolveDir(h.path, parts, true)!;
    const rel = parentRel === '' ? name : `${parentRel}/${name}`;
    const p = this.abs(rel);

    if (name === OPAQUE_MARKER) {
      this.nfs.lsetxattr(this.abs(parentRel), OPAQUE_XATTR, 'y');
      return;
    }
    if (name.startsWith(WHITEOUT_PREFIX)) {
      const target = name.slice(WHITEOUT_PREFIX.length);
      if (target === '' || target === '.' || target === '..') throw new LayerSecurityError(h.path, 'is a malformed whiteout');
      const wrel = parentRel === '' ? target : `${parentRel}/${target}`;
      this.clear(h.path, wrel); // settles a pending file at wrel first
      this.nfs.mknod(this.abs(wrel), S_IFCHR | 0o000, 0);
      if (!this.ownedByUs(h)) fs.lchownSync(this.abs(wrel), h.uid, h.gid);
      return;
    }

    if (h.type === 'dir') {
      this.settle(rel);
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(p);
      } catch {
        /* absent */
      }
      if (st && !st.isDirectory()) this.clear(h.path, rel);
      const meta: DirMeta = { h };
      if (!st || !st.isDirectory()) {
        // Owner rwx while extracting; the final mode is applied at the end.
        const mode = (h.mode & 0o1777) | 0o700;
        fs.mkdirSync(p, { mode });
        meta.made = mode & ~this.umask;
      } else if ((st.mode & S_ISGID) !== 0) {
        this.setgidSeen = true;
      }
      // `.wh.d` then `d/` in one layer (older writers) means a fresh directory: below must not show through.
      if (st && isWhiteoutDevice(st)) this.nfs.lsetxattr(p, OPAQUE_XATTR, 'y');
      this.dirs.add(rel);
      this.dirMeta.set(rel, meta);
      this.setXattrs(h, p);
      return;
    }

    if (h.type === 'file') {
      if (body !== undefined && body.length < 65536) {
        // A path this layer already made (a duplicate entry) is replaced on this thread, in order.
        if (h.xattrs === undefined && !this.batch.pending(rel) && !this.files.has(rel) && !this.dirs.has(rel)) this.queueFile(h, rel, body);
        else this.smallFile(h, rel, p, body);
        return;
      }
      this.settle(rel);
      // No lstat first: O_EXCL tells whether something is in the way.
      const fd = this.create(h, rel, p);
      this.files.add(rel);
      if (body === undefined) {
        this.cur = { fd, h, p, batch: [], batched: 0, pos: 0, hole: false };
        return;
      }
      try {
        // A body that arrived whole: one write(2).
        if (body.length > 0 && writeAt(fd, body, 0)) fs.ftruncateSync(fd, body.length);
        this.fileMeta(fd, h, p);
      } finally {
        fs.closeSync(fd);
      }
      return;
    }

    this.clear(h.path, rel);
    let created = 0o777; // symlinks: their mode is not applied
    switch (h.type) {
      case 'symlink':
        fs.symlinkSync(h.linkname ?? '', p);
        break;
      case 'hardlink': {
        const tparts = safeComponents(h.path, h.linkname ?? '', 'link target');
        const tname = tparts.pop();
        const tdir = tname === undefined ? undefined : this.resolveDir(h.path, tparts, false);
        const target = tdir === undefined ? undefined : tdir === '' ? tname! : `${tdir}/${tname}`;
        if (target === undefined || !this.files.has(target)) {
          throw new LayerSecurityError(h.path, `is a hardlink to ${JSON.stringify(h.linkname)}, which is not a file of this layer`);
        }
        this.settle(target);
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
        created = h.mode & 0o777;
        try {
          this.nfs.mknod(p, kind | created, dev);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'EPERM' && code !== 'EACCES') throw e;
          this.warnings.push(`${h.path}: skipped ${h.type} device ${h.devmajor}:${h.devminor} (${code}: cannot create device nodes here)`);
          return;
        }
        break;
      }
    }
    const chowned = !this.ownedByUs(h);
    if (chowned) fs.lchownSync(p, h.uid, h.gid);
    // After chown, which clears setuid/setgid.
    if (h.type !== 'symlink' && (chowned || this.needsChmod(h, created))) fs.chmodSync(p, h.mode & 0o7777);
    this.setXattrs(h, p);
    fs.lutimesSync(p, h.mtime, h.mtime);
  }

  /**
   * A small file that arrived whole, without xattrs, at a path this layer has
   * not made yet and no pending record names: queued for the worker threads. Its parent is a real
   * directory that exists now and is removed only through clear(), which
   * settles first; so the worker creates exactly what the sync path would.
   */
  private queueFile(h: TarEntryHeader, rel: string, body: Buffer): void {
    const chowned = !this.ownedByUs(h);
    const chmodTo = chowned || this.needsChmod(h, h.mode & 0o777) ? h.mode & 0o7777 : -1;
    this.batch.add({ h, rel, body, chowned, chmodTo });
    this.files.add(rel);
  }

  /**
   * A queued file the worker could not create. EEXIST: something was at its
   * path before this layer (nothing of this layer: that path would have been
   * settled first), so it is redone here as the sync path would have, in
   * order, since no later entry has touched that path yet. ELOOP/EXDEV:
   * openat2 met a symlink or left root, which the resolution above rules out;
   * refused all the same.
   */
  private redo(f: QueuedFile, failure: FileQueueFailure): void {
    const p = this.abs(f.rel);
    if (failure.code === 'EEXIST') {
      this.smallFile(f.h, f.rel, p, f.body);
      return;
    }
    if (failure.code === 'ELOOP' || failure.code === 'EXDEV') {
      throw new LayerSecurityError(f.h.path, `would be created through a symlink or outside the root (${failure.code})`);
    }
    throw Object.assign(new Error(`${failure.code}: ${failure.syscall} '${p}'`), { code: failure.code, errno: failure.errno, syscall: failure.syscall, path: p });
  }

  /** A small file that arrived whole: content and metadata in one native call, on this thread. */
  private smallFile(h: TarEntryHeader, rel: string, p: string, body: Buffer): void {
    this.settle(rel);
    const chowned = !this.ownedByUs(h);
    const chmodTo = chowned || this.needsChmod(h, h.mode & 0o777) ? h.mode & 0o7777 : -1;
    try {
      this.nfs.createFile(p, body, h.mode & 0o777, h.uid, h.gid, h.mtime, chowned, chmodTo);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // No lstat first: O_EXCL tells whether something is in the way.
      this.clear(h.path, rel);
      this.nfs.createFile(p, body, h.mode & 0o777, h.uid, h.gid, h.mtime, chowned, chmodTo);
    }
    this.files.add(rel);
    // After the chown, which clears security.capability; xattrs leave the mtime alone.
    this.setXattrs(h, p);
  }

  /** Creates a regular file for writing, never through a symlink; open() sets its mode when the umask lets it. */
  private create(h: TarEntryHeader, rel: string, p: string): number {
    try {
      return fs.openSync(p, CREATE_FLAGS, h.mode & 0o777);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      this.clear(h.path, rel);
      return fs.openSync(p, CREATE_FLAGS, h.mode & 0o777);
    }
  }

  /** Owner, mode, xattrs and times of a new regular file, through its descriptor where possible. */
  private fileMeta(fd: number, h: TarEntryHeader, p: string): void {
    // chown first: it clears setuid/setgid and security.capability.
    const chowned = !this.ownedByUs(h);
    if (chowned) fs.fchownSync(fd, h.uid, h.gid);
    if (chowned || this.needsChmod(h, h.mode & 0o777)) fs.fchmodSync(fd, h.mode & 0o7777);
    this.setXattrs(h, p);
    fs.futimesSync(fd, h.mtime, h.mtime);
  }

  /** The next piece of the current file's body (TarHandler). */
  data(chunk: Buffer): void {
    const f = this.cur!;
    if (f.batched === 0 && chunk.length >= WRITE_BATCH) {
      if (writeAt(f.fd, chunk, f.pos)) f.hole = true;
      f.pos += chunk.length;
      return;
    }
    // Held, not copied: the parser's chunks are the stream's own buffers, never reused.
    f.batch.push(chunk);
    f.batched += chunk.length;
    if (f.batched >= WRITE_BATCH) this.flush(f);
  }

  private flush(f: OpenFile): void {
    if (f.batched === 0) return;
    const b = f.batch.length === 1 ? f.batch[0]! : Buffer.concat(f.batch, f.batched);
    if (writeAt(f.fd, b, f.pos)) f.hole = true;
    f.pos += f.batched;
    f.batch = [];
    f.batched = 0;
  }

  /** The current file is complete (TarHandler). */
  end(): void {
    const f = this.cur!;
    this.cur = undefined;
    try {
      this.flush(f);
      if (f.hole) fs.ftruncateSync(f.fd, f.pos);
      this.fileMeta(f.fd, f.h, f.p);
    } finally {
      fs.closeSync(f.fd);
    }
  }

  /** The parser has used up one chunk: hands the gathered small files to the threads, takes their reports. */
  chunkDone(): void {
    this.batch.submit();
    this.batch.poll();
  }

  /** Closes a file left open by an error; stops the worker threads (the running batches finish first). */
  abort(): void {
    this.batch.close();
    if (this.cur !== undefined) fs.closeSync(this.cur.fd);
    this.cur = undefined;
  }

  private setXattrs(h: TarEntryHeader, p: string): void {
    if (!h.xattrs) return;
    for (const [name, value] of Object.entries(h.xattrs)) {
      if (isOverlayXattr(name)) {
        // origin, impure and nlink are overlay's bookkeeping (containers/storage leaves them in
        // every layer buildah makes): dropping them changes nothing a reader sees. Others
        // (opaque, redirect, metacopy) would, so those are reported.
        if (!OVERLAY_BOOKKEEPING.test(name)) this.warnings.push(`${h.path}: ignored overlay xattr ${name}`);
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

  /**
   * Applies directory owners, modes and times once, at the end: creating
   * children changes a directory's mtime. Children first (reverse tar order),
   * so a parent's restrictive mode comes last.
   */
  finish(): void {
    this.batch.settle();
    this.batch.close();
    const rels = [...this.dirMeta.keys()].reverse();
    for (const rel of rels) {
      const { h, made } = this.dirMeta.get(rel)!;
      const p = this.abs(rel);
      const chowned = made === undefined || !this.ownedByUs(h);
      if (chowned) fs.lchownSync(p, h.uid, h.gid);
      if (chowned || made !== (h.mode & 0o7777)) fs.chmodSync(p, h.mode & 0o7777);
      fs.lutimesSync(p, h.mtime, h.mtime);
    }
  }
}

/**
 * Writes buf at pos, leaving holes for the all-zero megabytes of big bodies
 * (sparse-safe; the caller sets the length with ftruncate). Returns whether
 * a hole was left.
 */
function writeAt(fd: number, buf: Buffer, pos: number): boolean {
  if (buf.length < 65536) {
    writeAll(fd, buf, pos);
    return false;
  }
  let hole = false;
  for (let off = 0; off < buf.length; off += WRITE_BATCH) {
    const piece = buf.subarray(off, Math.min(buf.length, off + WRITE_BATCH));
    if (piece.length >= 65536 && piece.equals(ZEROS.subarray(0, piece.length))) hole = true;
    else writeAll(fd, piece, pos + off);
  }
  return hole;
}

/** write(2) until all of buf is written at pos. */
function writeAll(fd: number, buf: Buffer, pos: number): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off, pos + off);
}

/**
 * The process umask, read from /proc/self/status (once per layer): process.umask()
 * without an argument sets it to 0 and back, which races with files the thread
 * pool may be creating at that moment.
 */
function processUmask(): number {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return parseInt(m[1]!, 8);
  } catch {
    /* no /proc: fall back below */
  }
  return process.umask();
}

/** Linux makedev for the new (large) encoding. */
function makedev(major: number, minor: number): number {
  return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12) | Math.floor(major / 4096) * 2 ** 32;
}

/**
 * Extracts an uncompressed tar stream into `root` (which must exist) in overlay form.
 * Returns the warnings and the stream's sha256. On error `root` holds a partial tree: the caller deletes it.
 * Parsing and file system calls are synchronous per chunk; small files are
 * created on two worker threads and the gunzip upstream runs on libuv's
 * thread pool meanwhile.
 */
export async function extractTar(tar: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, root: string, signal?: AbortSignal): Promise<ExtractResult> {
  const hash = createHash('sha256');
  const x = new Extractor(root);
  const parser = new TarParser(x);
  try {
    for await (const c of tar) {
      signal?.throwIfAborted();
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      hash.update(b);
      parser.feed(b);
      x.chunkDone();
    }
    parser.end();
    x.finish();
  } finally {
    x.abort();
  }
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
