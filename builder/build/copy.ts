/**
 * COPY/ADD into a mounted root file system with Docker's destination rules:
 * a trailing `/`, several sources or a wildcard make the destination a
 * directory; a directory source copies its contents; missing parents are
 * created 0755 (owned by --chown's user); every destination path is resolved
 * inside the root (resolve-in-root.ts), never through a symlink out of it.
 */
import { chmod, copyFile, lchown, lstat, mkdir, utimes } from 'node:fs/promises';
import {
  chmodSync, closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, lstatSync, lutimesSync, mkdirSync,
  openSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeSync, type Stats,
} from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { resolveInRoot } from './resolve-in-root.js';
import { normalizeAbs } from '../image/config.js';
import { ContextError } from './context.js';
import { readSmallFile } from './read-small.js';

/** A source tree that COPY reads from (the context, or another stage's root). */
export interface SourceTree<S extends { rel: string; abs: string; stat: Stats; pattern: string }> {
  resolve(patterns: string[]): Promise<S[]>;
  walk(src: S): AsyncGenerator<{ rel: string; abs: string; stat: Stats }>;
  /** walk() without a promise per entry; used instead of walk() when the tree has it. */
  walkSync?(src: S): Iterable<{ rel: string; abs: string; stat: Stats }>;
}

/** Options of one COPY. */
export interface CopyOptions {
  /** Host path of the destination root file system. */
  root: string;
  /** Destination as written in the Dockerfile (after variable expansion). */
  dest: string;
  /** The stage's working directory (for relative destinations). */
  workdir: string;
  /** Owner for everything written; undefined keeps the source owner (`keepOwner`) or uses 0:0. */
  chown?: { uid: number; gid: number };
  /** Mode for everything written (`--chmod`); `(mode, isDir) => mode` for symbolic forms. */
  chmod?: (mode: number, isDir: boolean) => number;
  /** Keep source owners (copies from another stage or image). */
  keepOwner?: boolean;
  /** --exclude: true for a path (relative to the source, or to the context) that must not be copied. */
  exclude?: (rel: string) => boolean;
  /**
   * Host path under `root` for an image path (default: resolveInRoot(root, ...)); an unmounted
   * snapshot's resolver copies up what the path needs from the layers below.
   */
  resolve?: PathResolver;
  /** Stops the copy between entries. */
  signal?: AbortSignal;
  /** Identical files written before, to hard-link instead of writing (copy-reuse.ts); every regular file is offered. */
  reuse?: FileReuse;
}

/**
 * Regular files a COPY may take from an identical earlier result instead of writing them.
 * `place` is called for every regular file, once `host` is clear (nothing there): it notes
 * the file, and when `mayLink` returns true if it made `host` a hard link to a file with the
 * same content, owner `uid:gid`, `mode` and mtime as the copy would write (then the copy writes nothing).
 */
export interface FileReuse {
  place(srcAbs: string, st: Stats, host: string, want: { uid: number; gid: number; mode: number }, mayLink: boolean): boolean;
}

/** Maps an image path to the host path to read or write, symlinks resolved inside the root (the last one when `followLast`). */
export type PathResolver = (imagePath: string, followLast: boolean) => string;

/** A COPY whose destination cannot take its sources. */
export class CopyError extends Error {
  constructor(readonly code: 'DEST_NOT_DIR' | 'DEST_IS_DIR', message: string, readonly hint?: string) {
    super(message);
  }
}

/** Files up to this size are copied with synchronous calls; bigger ones on the threadpool. */
const SMALL_FILE = 1024 * 1024;
/** Entries copied between two turns of the event loop (signals, progress, other stages). */
const BATCH = 512;

/**
 * A directory written (or merged into) by this copy: its resolved host path, whether
 * this copy created it (then its children cannot exist yet and need no lstat), and
 * the group a new file in it gets from the kernel (to skip a chown that changes nothing).
 */
interface DirState { host: string; fresh: boolean; newGid: number }

/** Copies the resolved sources into the root; returns how many entries were written. */
export async function copyInto<S extends { rel: string; abs: string; stat: Stats; pattern: string }>(
  tree: SourceTree<S>,
  sources: S[],
  opts: CopyOptions,
): Promise<number> {
  const resolve = opts.resolve ?? ((p: string, followLast: boolean) => resolveInRoot(opts.root, p, followLast));
  const destAbs = normalizeAbs(opts.dest.startsWith('/') ? opts.dest : `${opts.workdir}/${opts.dest}`);
  const wildcard = sources.some((s) => /[*?[]/.test(s.pattern));
  let destIsDir = opts.dest.endsWith('/') || opts.dest.endsWith('/.') || opts.dest === '.';
  if (!destIsDir) {
    const st = await lstat(resolve(destAbs, true)).catch(() => undefined);
    if (st?.isDirectory()) destIsDir = true;
  }
  if ((sources.length > 1 || wildcard) && !destIsDir && !(sources.length === 1 && sources[0]!.stat.isDirectory())) {
    throw new CopyError('DEST_NOT_DIR', `when copying more than one source, the destination ${JSON.stringify(opts.dest)} must be a directory and end with a /`,
      `write the destination as "${opts.dest}/"`);
  }
  let count = 0;
  const w = writer(opts);
  const excluded = (src: S, rel: string): boolean => {
    if (!opts.exclude) return false;
    const full = rel === '' ? src.rel : src.rel === '' ? rel : `${src.rel}/${rel}`;
    return (rel !== '' && opts.exclude(rel)) || (full !== '' && opts.exclude(full));
  };
  for (const src of sources) {
    if (excluded(src, '')) continue;
    const isDir = src.stat.isDirectory();
    const base = isDir ? destAbs : destIsDir ? `${destAbs}/${basename(src.rel || src.pattern)}` : destAbs;
    const parent = isDir ? base : dirname(base);
    await ensureDir(opts.root, parent, opts.chown, opts.resolve);
    // Directories by source-relative path; each child's host path is its parent's plus
    // its name, so the destination is resolved once per directory, not once per file.
    // An unmounted snapshot (opts.resolve) resolves every path instead: its resolver
    // copies up from the layers below what a path goes through.
    const perEntry = opts.resolve !== undefined;
    const dirs = new Map<string, DirState>();
    const skipped = new Set<string>();
    if (isDir && !perEntry) {
      const host = resolve(base, true);
      dirs.set('', { host, fresh: false, newGid: newFileGid(w, lstatSync(host)) });
    }
    const dirTimes: Array<[string, Stats]> = [];
    /**
     * The written directory that holds `rel`. A parent the walk did not show (ignored by
     * .dockerignore, a path inside it re-included) is written from the source's metadata,
     * as BuildKit's context transfer keeps the parents of re-included paths.
     */
    const parentDir = (rel: string): DirState | 'skipped' => {
      const slash = rel.lastIndexOf('/');
      const p = slash < 0 ? '' : rel.slice(0, slash);
      if (skipped.has(p)) return 'skipped';
      const known = dirs.get(p);
      if (known) return known;
      if (p === '') throw new Error(`internal: ${rel} walked outside a directory source`);
      const above = parentDir(p);
      if (above === 'skipped' || excluded(src, p)) {
        skipped.add(p);
        return 'skipped';
      }
      const st = lstatSync(join(src.abs, p));
      const host = `${above.host}/${p.slice(p.lastIndexOf('/') + 1)}`;
      const made = writeEntry(join(src.abs, p), st, host, w, above)!;
      dirs.set(p, made);
      dirTimes.push([host, st]);
      count++;
      return made;
    };
    for await (const e of tree.walkSync ? tree.walkSync(src) : tree.walk(src)) {
      if (e.rel === '' && isDir) {
        // The source directory itself: its contents go into the destination, which keeps its own metadata when it exists.
        continue;
      }
      let host: string;
      let into: DirState | undefined;
      if (e.rel === '') {
        host = resolve(base, false);
      } else if (perEntry) {
        const slash = e.rel.lastIndexOf('/');
        const p = slash < 0 ? '' : e.rel.slice(0, slash);
        if (skipped.has(p) || excluded(src, e.rel)) {
          if (e.stat.isDirectory()) skipped.add(e.rel);
          continue;
        }
        // Below a directory this copy created (none was there, in the upper or the layers below),
        // nothing can exist: no lookup through the layers, as on the fast path.
        const made = dirs.get(p);
        if (made) {
          into = made;
          host = `${made.host}/${e.rel.slice(slash + 1)}`;
        } else host = resolve(`${base}/${e.rel}`, false);
      } else {
        const found = parentDir(e.rel);
        if (found === 'skipped' || excluded(src, e.rel)) {
          if (e.stat.isDirectory()) skipped.add(e.rel);
          continue;
        }
        into = found;
        host = `${into.host}/${e.rel.slice(e.rel.lastIndexOf('/') + 1)}`;
      }
      if (e.stat.isFile() && e.stat.size > SMALL_FILE) await writeBigFile(e.abs, e.stat, host, w, into);
      else {
        const made = writeEntry(e.abs, e.stat, host, w, into);
        if (made && (!perEntry || made.fresh)) dirs.set(e.rel, made);
      }
      if (e.stat.isDirectory()) dirTimes.push([host, e.stat]);
      if (++count % BATCH === 0) {
        await new Promise((r) => setImmediate(r));
        opts.signal?.throwIfAborted();
      }
    }
    // Directory mtimes last: writing their contents changed them.
    for (const [host, st] of dirTimes.reverse()) utimesSync(host, st.atime, st.mtime);
  }
  return count;
}

/** What every entry of one copy needs, looked up once: the options and who this process creates files as. */
interface Writer {
  opts: CopyOptions;
  euid: number;
  egid: number;
  /** The process umask, when known: new files get `mode & ~umask` without a chmod. */
  umask: number | undefined;
}

function writer(opts: CopyOptions): Writer {
  return { opts, euid: process.geteuid?.() ?? -1, egid: process.getegid?.() ?? -1, umask: readUmask() };
}

/** The umask from /proc (process.umask() without an argument is deprecated: it has to set one to read it). */
function readUmask(): number | undefined {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? parseInt(m[1]!, 8) : undefined;
  } catch {
    return undefined;
  }
}

/** The group the kernel gives a new file in a directory: the directory's own with setgid, else ours. */
function newFileGid(w: Writer, dir: { mode: number; gid: number }): number {
  return dir.mode & 0o2000 ? dir.gid : w.egid;
}

function ownerOf(st: Stats, opts: CopyOptions): { uid: number; gid: number } {
  if (opts.chown) return opts.chown;
  if (opts.keepOwner) return { uid: st.uid, gid: st.gid };
  return { uid: 0, gid: 0 };
}

function modeOf(st: Stats, opts: CopyOptions): number {
  return opts.chmod ? opts.chmod(st.mode & 0o7777, st.isDirectory()) : st.mode & 0o7777;
}

/** Clears the way for a non-directory at `host`; throws when a directory is there. Returns whether something was removed. */
function clearForFile(host: string, root: string, into: DirState | undefined): boolean {
  if (into?.fresh) return false;
  const existing = lstatSync(host, { throwIfNoEntry: false });
  if (existing?.isDirectory()) {
    throw new CopyError('DEST_IS_DIR', `cannot copy file over directory ${JSON.stringify(relative(root, host))}`);
  }
  if (existing) rmSync(host, { force: true });
  return existing !== undefined;
}

/**
 * Offers a regular file to opts.reuse. No link over an entry that was there: that may be an
 * unmounted snapshot's placeholder of a lower file, which UpperWriter.finish() drops when
 * it still has the lower's inode; a file written anew never has it, a linked one must not either.
 */
function reused(srcAbs: string, st: Stats, host: string, w: Writer, replaced: boolean, uid: number, gid: number, mode: number): boolean {
  return w.opts.reuse?.place(srcAbs, st, host, { uid, gid, mode }, !replaced) ?? false;
}

/**
 * Writes one directory, symlink or small file with synchronous calls; returns the
 * state of a directory it wrote. A file is written through one descriptor:
 * created exclusively (never through a link), then owner, mode and times set on the fd.
 */
function writeEntry(srcAbs: string, st: Stats, host: string, w: Writer, into: DirState | undefined): DirState | undefined {
  const opts = w.opts;
  const { uid, gid } = ownerOf(st, opts);
  const mode = modeOf(st, opts);
  if (st.isDirectory()) {
    const existing = into?.fresh ? undefined : lstatSync(host, { throwIfNoEntry: false });
    if (existing && !existing.isDirectory()) rmSync(host, { force: true });
    const fresh = !existing || !existing.isDirectory();
    if (fresh) mkdirSync(host);
    lchownSync(host, uid, gid);
    chmodSync(host, mode);
    return { host, fresh, newGid: newFileGid(w, { mode, gid }) };
  }
  if (st.isSymbolicLink()) {
    clearForFile(host, opts.root, into);
    symlinkSync(readlinkSync(srcAbs), host);
    lchownSync(host, uid, gid);
    lutimesSync(host, st.atime, st.mtime);
    return undefined;
  }
  if (st.isFile()) {
    const replaced = clearForFile(host, opts.root, into);
    if (reused(srcAbs, st, host, w, replaced, uid, gid, mode)) return undefined;
    const data = readSmallFile(srcAbs, st.size);
    // Plain modes the umask leaves alone are given at creation; others (setuid, 0777 under umask 022) need a chmod.
    const modeAtCreate = w.umask !== undefined && (mode & 0o7000) === 0 && (mode & w.umask) === 0;
    const fd = openSync(host, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, modeAtCreate ? mode : 0o600);
    try {
      for (let off = 0; off < data.length;) off += writeSync(fd, data, off);
      // Our own files are already ours: chown only when the owner differs.
      if (!into || uid !== w.euid || gid !== into.newGid) fchownSync(fd, uid, gid);
      // chmod after chown: chown clears setuid/setgid bits.
      if (!modeAtCreate) fchmodSync(fd, mode);
      futimesSync(fd, st.atime, st.mtime);
    } finally {
      closeSync(fd);
    }
  }
  // Sockets, fifos and devices in a build context are skipped, as Docker does.
  return undefined;
}

/** A big file: copied on the threadpool (copy_file_range) so that other work goes on meanwhile. */
async function writeBigFile(srcAbs: string, st: Stats, host: string, w: Writer, into: DirState | undefined): Promise<void> {
  const opts = w.opts;
  const { uid, gid } = ownerOf(st, opts);
  const mode = modeOf(st, opts);
  const replaced = clearForFile(host, opts.root, into);
  if (reused(srcAbs, st, host, w, replaced, uid, gid, mode)) return;
  await copyFile(srcAbs, host, constants.COPYFILE_EXCL);
  await lchown(host, uid, gid);
  // chmod after chown: chown clears setuid/setgid bits.
  await chmod(host, mode);
  await utimes(host, st.atime, st.mtime);
}

/** Creates an image directory and its missing parents (0755, owned by `owner` or root). */
export async function ensureDir(root: string, imagePath: string, owner?: { uid: number; gid: number }, resolve?: PathResolver): Promise<void> {
  const host = resolve ? resolve(imagePath, true) : resolveInRoot(root, imagePath);
  const st = await lstat(host).catch(() => undefined);
  if (st?.isDirectory()) return;
  if (st) throw new CopyError('DEST_NOT_DIR', `${imagePath} exists in the image and is not a directory`);
  // The resolved path has no symlinks left among its existing components: create what is missing, parents first.
  const rel = relative(root, host);
  if (rel !== '' && dirname(rel) !== '.') await ensureDir(root, `/${dirname(rel)}`, owner, resolve);
  await mkdir(host, { mode: 0o755 });
  await chmod(host, 0o755);
  await lchown(host, owner?.uid ?? 0, owner?.gid ?? 0);
}

/** A source tree inside another root file system (COPY --from a stage or image). */
export class RootTree implements SourceTree<{ pattern: string; rel: string; abs: string; stat: Stats }> {
  constructor(readonly root: string) {}

  async resolve(patterns: string[]): Promise<Array<{ pattern: string; rel: string; abs: string; stat: Stats }>> {
    const out = [];
    for (const pattern of patterns) {
      const abs = resolveInRoot(this.root, pattern);
      const st = await lstat(abs).catch(() => undefined);
      if (!st) {
        throw new ContextError('SOURCE_NOT_FOUND', `${JSON.stringify(pattern)} not found in the source stage or image`);
      }
      out.push({ pattern, rel: relative(this.root, abs), abs, stat: st });
    }
    return out;
  }

  async *walk(src: { rel: string; abs: string; stat: Stats }): AsyncGenerator<{ rel: string; abs: string; stat: Stats }> {
    yield* this.walkSync(src);
  }

  /** Every entry under a source, parents before children, sorted; synchronous listing and lstat. */
  *walkSync(src: { rel: string; abs: string; stat: Stats }): Generator<{ rel: string; abs: string; stat: Stats }> {
    yield { rel: '', abs: src.abs, stat: src.stat };
    if (src.stat.isDirectory()) yield* walkDir(src.abs, '');
  }
}

function* walkDir(abs: string, rel: string): Generator<{ rel: string; abs: string; stat: Stats }> {
  for (const name of readdirSync(abs).sort()) {
    const childAbs = join(abs, name);
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const st = lstatSync(childAbs);
    yield { rel: childRel, abs: childAbs, stat: st };
    if (st.isDirectory()) yield* walkDir(childAbs, childRel);
  }
}

/**
 * COPY --parents: the destination that keeps a source's path. `rel` is the source's path in the
 * context (or stage root); a `/./` in the pattern marks where the kept part starts (BuildKit).
 */
export function parentsDestination(pattern: string, rel: string, isDir: boolean, dest: string): string {
  const dir = dest.endsWith('/') ? dest : `${dest}/`;
  let kept = rel.replace(/^\/+/, '');
  const pivot = pattern.indexOf('/./');
  if (pivot >= 0) {
    const prefix = pattern.slice(0, pivot).replace(/^\.?\/+/, '').replace(/^\.$/, '');
    if (prefix !== '' && (kept === prefix || kept.startsWith(`${prefix}/`))) kept = kept.slice(prefix.length).replace(/^\/+/, '');
  }
  const parent = isDir ? kept : kept.split('/').slice(0, -1).join('/');
  return parent === '' ? dir : `${dir}${parent}/`;
}
