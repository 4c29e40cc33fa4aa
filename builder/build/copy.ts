/**
 * COPY/ADD into a mounted root file system with Docker's destination rules:
 * a trailing `/`, several sources or a wildcard make the destination a
 * directory; a directory source copies its contents; missing parents are
 * created 0755 (owned by --chown's user); every destination path is resolved
 * inside the root (resolve-in-root.ts), never through a symlink out of it.
 */
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, utimes } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { resolveInRoot } from './resolve-in-root.js';
import { normalizeAbs } from '../image/config.js';
import { ContextError } from './context.js';

/** A source tree that COPY reads from (the context, or another stage's root). */
export interface SourceTree<S extends { rel: string; abs: string; stat: Stats; pattern: string }> {
  resolve(patterns: string[]): Promise<S[]>;
  walk(src: S): AsyncGenerator<{ rel: string; abs: string; stat: Stats }>;
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
}

/** Maps an image path to the host path to read or write, symlinks resolved inside the root (the last one when `followLast`). */
export type PathResolver = (imagePath: string, followLast: boolean) => string;

/** A COPY whose destination cannot take its sources. */
export class CopyError extends Error {
  constructor(readonly code: 'DEST_NOT_DIR' | 'DEST_IS_DIR', message: string, readonly hint?: string) {
    super(message);
  }
}

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
  const excluded = (src: S, rel: string): boolean => {
    if (!opts.exclude) return false;
    const full = rel === '' ? src.rel : src.rel === '' ? rel : `${src.rel}/${rel}`;
    return (rel !== '' && opts.exclude(rel)) || (full !== '' && opts.exclude(full));
  };
  for (const src of sources) {
    if (excluded(src, '')) continue;
    const skipped: string[] = [];
    const base = src.stat.isDirectory() ? destAbs : destIsDir ? `${destAbs}/${basename(src.rel || src.pattern)}` : destAbs;
    const parent = src.stat.isDirectory() ? base : dirname(base);
    await ensureDir(opts.root, parent, opts.chown, opts.resolve);
    const dirTimes: Array<[string, Stats]> = [];
    for await (const e of tree.walk(src)) {
      if (e.rel !== '' && (skipped.some((d) => e.rel.startsWith(`${d}/`)) || excluded(src, e.rel))) {
        if (e.stat.isDirectory()) skipped.push(e.rel);
        continue;
      }
      const target = e.rel === '' ? base : `${base}/${e.rel}`;
      if (src.stat.isDirectory() && e.rel === '') {
        // The source directory itself: its contents go into the destination, which keeps its own metadata when it exists.
        continue;
      }
      const host = resolve(target, false);
      await writeEntry(e.abs, e.stat, host, opts);
      if (e.stat.isDirectory()) dirTimes.push([host, e.stat]);
      count++;
    }
    // Directory mtimes last: writing their contents changed them.
    for (const [host, st] of dirTimes.reverse()) await utimes(host, st.atime, st.mtime);
  }
  return count;
}

function ownerOf(st: Stats, opts: CopyOptions): { uid: number; gid: number } {
  if (opts.chown) return opts.chown;
  if (opts.keepOwner) return { uid: st.uid, gid: st.gid };
  return { uid: 0, gid: 0 };
}

async function writeEntry(srcAbs: string, st: Stats, host: string, opts: CopyOptions): Promise<void> {
  const existing = await lstat(host).catch(() => undefined);
  const { uid, gid } = ownerOf(st, opts);
  const mode = opts.chmod ? opts.chmod(st.mode & 0o7777, st.isDirectory()) : st.mode & 0o7777;
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory()) await rm(host, { force: true });
    if (!existing || !existing.isDirectory()) await mkdir(host);
    await lchown(host, uid, gid);
    await chmod(host, mode);
    return;
  }
  if (existing?.isDirectory()) {
    throw new CopyError('DEST_IS_DIR', `cannot copy file over directory ${JSON.stringify(relative(opts.root, host))}`);
  }
  if (existing) await rm(host, { force: true });
  if (st.isSymbolicLink()) {
    await symlink(await readlink(srcAbs), host);
    await lchown(host, uid, gid);
    await lutimes(host, st.atime, st.mtime);
    return;
  }
  if (st.isFile()) {
    await copyFile(srcAbs, host);
    await lchown(host, uid, gid);
    // chmod after chown: chown clears setuid/setgid bits.
    await chmod(host, mode);
    await utimes(host, st.atime, st.mtime);
  }
  // Sockets, fifos and devices in a build context are skipped, as Docker does.
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
    yield { rel: '', abs: src.abs, stat: src.stat };
    if (src.stat.isDirectory()) yield* walkDir(src.abs, '');
  }
}

async function* walkDir(abs: string, rel: string): AsyncGenerator<{ rel: string; abs: string; stat: Stats }> {
  for (const name of (await readdir(abs)).sort()) {
    const childAbs = join(abs, name);
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const st = await lstat(childAbs);
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
