/**
 * The build context: resolving COPY/ADD source patterns against it (with the
 * .dockerignore rules), walking what they select, and a content checksum of
 * exactly those files for cache keys. File hashes are remembered by
 * (size, mtime, ctime, inode), so an unchanged context is checksummed by
 * metadata alone, as BuildKit does.
 */
import { createHash } from 'node:crypto';
import { Sha256, sha256Hex } from '../../registry/oci/sha256.js';
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { rename, writeFile, mkdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { globMatch, hasGlob } from './glob.js';
import { readSmallFile } from './read-small.js';

/** What .dockerignore excludes; `rel` is a context-relative `/`-separated path. */
export interface IgnoreMatcher {
  ignores(rel: string): boolean;
  /** Whether an excluded directory may still hold re-included (`!`) paths; walking skips it when false. */
  mayReinclude?(dirRel: string): boolean;
}

/** A source the user named that exists in the context. */
export interface ResolvedSource {
  pattern: string;
  /** Context-relative path ('' is the context root). */
  rel: string;
  abs: string;
  stat: Stats;
}

/** A file system entry under a source, relative to that source. */
export interface WalkEntry {
  /** Path relative to the source ('' for a file source itself). */
  rel: string;
  abs: string;
  stat: Stats;
}

/** A COPY source that is missing or outside the context. */
export class ContextError extends Error {
  constructor(
    readonly code: 'SOURCE_NOT_FOUND' | 'SOURCE_OUTSIDE_CONTEXT' | 'CONTEXT_NOT_FOUND',
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Cleans a source path to a context-relative one; throws when it climbs out of the context. */
export function cleanContextPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) {
        throw new ContextError('SOURCE_OUTSIDE_CONTEXT', `${JSON.stringify(p)} is outside the build context`,
          'COPY and ADD can only read files inside the context directory; move the file in or use a different context');
      }
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

interface HashEntry { size: number; mtimeMs: number; ctimeMs: number; ino: number; hash: string }

/** Files up to this size are read whole and synchronously; bigger ones are streamed. */
const SMALL_FILE = 1024 * 1024;

/**
 * The hash cache file of one context directory under `cacheDir`: one file per context,
 * so that a build loads only the hashes of its own context, not every one ever built.
 */
export function contextHashFile(cacheDir: string, contextDir: string): string {
  return join(cacheDir, 'context-hashes', `${sha256Hex(resolve(contextDir)).slice(0, 32)}.json`);
}

/** Remembers file content hashes by metadata across builds (one JSON file). */
export class HashCache {
  private entries = new Map<string, HashEntry>();
  /** Paths looked up by this process: entries of files gone from the context are dropped on save. */
  private readonly used = new Set<string>();
  private loaded = false;
  private dirty = false;
  constructor(private readonly file?: string) {}

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    if (!this.file) return;
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, HashEntry>;
      this.entries = new Map(Object.entries(data));
    } catch {
      // A missing or torn cache file only costs rehashing.
    }
  }

  /**
   * The sha256 of a regular file's content, from the cache when its metadata is unchanged.
   * Small files are read synchronously: an awaited read per file is a threadpool round
   * trip that costs more than the read itself when a context holds thousands of them.
   */
  async hashFile(abs: string, st: Stats): Promise<string> {
    return this.cached(abs, st) ?? this.remember(abs, st, st.size <= SMALL_FILE ? hashSmall(abs, st.size) : await hashStream(abs));
  }

  /** The hash of a file already hashed (by this build or one before) when its metadata is unchanged; nothing is read. */
  known(abs: string, st: Stats): string | undefined {
    return this.cached(abs, st);
  }

  /** The remembered hash when the file's metadata is unchanged. */
  private cached(abs: string, st: Stats): string | undefined {
    this.load();
    this.used.add(abs);
    const e = this.entries.get(abs);
    if (e && e.size === st.size && e.mtimeMs === st.mtimeMs && e.ctimeMs === st.ctimeMs && e.ino === st.ino) return e.hash;
    return undefined;
  }

  private remember(abs: string, st: Stats, hash: string): string {
    this.entries.set(abs, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, hash });
    this.dirty = true;
    return hash;
  }

  /** Writes the cache back (atomically) when it changed. */
  async save(): Promise<void> {
    if (!this.file || !this.dirty) return;
    // Keep what other builds of this context looked up, unless most of it is stale.
    if (this.entries.size > 2 * this.used.size + 1000) {
      for (const k of this.entries.keys()) if (!this.used.has(k)) this.entries.delete(k);
    }
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.entries)));
    await rename(tmp, this.file);
    this.dirty = false;
  }
}

function hashSmall(abs: string, size: number): string {
  return createHash('sha256').update(readSmallFile(abs, size)).digest('hex');
}

async function hashStream(abs: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(abs, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A build context directory with its ignore rules. */
export class BuildContext {
  private allPaths?: string[];
  private readonly walks = new Map<string, WalkEntry[]>();
  constructor(
    readonly dir: string,
    private readonly ignore: IgnoreMatcher = { ignores: () => false },
    private readonly hashes: HashCache = new HashCache(),
  ) {}

  /** Expands source patterns; each must match something that is not ignored. */
  async resolve(patterns: string[]): Promise<ResolvedSource[]> {
    const out: ResolvedSource[] = [];
    for (const pattern of patterns) {
      const found: ResolvedSource[] = [];
      if (hasGlob(pattern)) {
        const clean = cleanContextPath(pattern);
        for (const rel of this.listAll()) {
          if (globMatch(clean, rel)) found.push({ pattern, rel, abs: join(this.dir, rel), stat: lstatSync(join(this.dir, rel)) });
        }
      } else {
        const rel = cleanContextPath(pattern);
        if (rel === '' || !this.ignore.ignores(rel)) {
          const abs = join(this.dir, rel);
          // Synchronous: one metadata call per named source, in a row.
          let st: Stats | undefined;
          try {
            st = lstatSync(abs);
          } catch {
            st = undefined;
          }
          if (st) found.push({ pattern, rel, abs, stat: st });
        }
      }
      if (found.length === 0) {
        throw new ContextError('SOURCE_NOT_FOUND', `${JSON.stringify(pattern)} not found in the build context`,
          'check the path (relative to the context directory) and that .dockerignore does not exclude it');
      }
      out.push(...found);
    }
    return out;
  }

  /** Every non-ignored entry under a source, parents before children, sorted. */
  async *walk(src: ResolvedSource): AsyncGenerator<WalkEntry> {
    yield* this.walkSync(src);
  }

  /**
   * walk() without a promise per entry: the directory listing and lstat calls are
   * synchronous, which for thousands of small entries is many times faster than
   * awaiting each one on the threadpool.
   */
  *walkSync(src: ResolvedSource): Generator<WalkEntry> {
    yield { rel: '', abs: src.abs, stat: src.stat };
    if (!src.stat.isDirectory()) return;
    // A directory is listed once per build: the cache key's checksum and the COPY
    // then see the same entries, and the COPY does not lstat them all again.
    const key = `${src.abs}\0${src.rel}`;
    let entries = this.walks.get(key);
    if (!entries) {
      entries = [...this.walkDir(src.abs, src.rel, '')];
      this.walks.set(key, entries);
    }
    yield* entries;
  }

  private *walkDir(abs: string, ctxRel: string, rel: string): Generator<WalkEntry> {
    const names = readdirSync(abs).sort();
    for (const name of names) {
      const childCtx = ctxRel === '' ? name : `${ctxRel}/${name}`;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const childAbs = join(abs, name);
      const st = lstatSync(childAbs);
      const ignored = this.ignore.ignores(childCtx);
      if (!ignored) yield { rel: childRel, abs: childAbs, stat: st };
      if (st.isDirectory() && (!ignored || (this.ignore.mayReinclude?.(childCtx) ?? true))) {
        yield* this.walkDir(childAbs, childCtx, childRel);
      }
    }
  }

  private listAll(): string[] {
    if (!this.allPaths) {
      const all: string[] = [];
      const root: ResolvedSource = { pattern: '.', rel: '', abs: this.dir, stat: lstatSync(this.dir) };
      for (const e of this.walkSync(root)) if (e.rel !== '') all.push(e.rel);
      this.allPaths = all;
    }
    return this.allPaths;
  }

  /** A checksum of the content, modes and names of everything the sources select (not mtimes). */
  async checksum(sources: ResolvedSource[]): Promise<string> {
    const h = new Sha256();
    for (const src of sources) {
      h.update(`source ${src.rel}\n`);
      for (const e of this.walkSync(src)) {
        const mode = (e.stat.mode & 0o7777).toString(8);
        if (e.stat.isSymbolicLink()) h.update(`l ${e.rel} ${mode} ${readlinkSync(e.abs)}\n`);
        else if (e.stat.isDirectory()) h.update(`d ${e.rel} ${mode}\n`);
        else if (e.stat.isFile()) h.update(`f ${e.rel} ${mode} ${await this.hashes.hashFile(e.abs, e.stat)}\n`);
        else h.update(`o ${e.rel} ${mode}\n`);
      }
    }
    return `sha256:${h.digestHex()}`;
  }

  /** The content hash of a context file that checksum() has seen unchanged, without reading it; undefined when unknown. */
  knownHash(abs: string, st: Stats): string | undefined {
    return this.hashes.known(abs, st);
  }

  /** Persists remembered file hashes. */
  async saveHashes(): Promise<void> {
    await this.hashes.save();
  }
}
