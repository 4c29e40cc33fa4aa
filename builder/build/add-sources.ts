/**
 * What ADD adds beyond COPY: remote files (http/https, checksum verified,
 * Last-Modified as mtime, named after the URL path, mode 0600 as Docker),
 * git repositories (cloned with the system git, `.git` dropped unless
 * --keep-git-dir), and local tar archives (plain, gzip, bzip2, xz; detected by
 * content) unpacked into the destination. gzip and plain tar go through
 * node-tar; bzip2 and xz through the system `bzip2`/`xz` (xz-utils, bzip2).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TarOptionsWithAliasesAsyncNoFile } from 'tar';
import { BuildError } from './errors.js';

/** BuildKit's rule for git sources: git@, git://, or an http(s)/ssh URL whose path ends in .git (ref after #). */
export function isGitUrl(s: string): boolean {
  if (/^git@[^:]+:/.test(s) || /^git:\/\//.test(s)) return true;
  return /^(https?|ssh):\/\/[^#]+\.git(#.*)?$/.test(s);
}

/** An http(s) URL (and not a git repository). */
export function isHttpUrl(s: string): boolean {
  return /^https?:\/\//.test(s) && !isGitUrl(s);
}

/** The file name ADD gives a download: the last path segment of the URL, or `download`. */
export function urlFileName(url: string): string {
  const p = new URL(url).pathname;
  const base = posix.basename(decodeURIComponent(p));
  return base && base !== '/' && base !== '.' && base !== '..' ? base : 'download';
}

/** Parses `--checksum=sha256:<hex>`. */
export function parseChecksum(s: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(s);
  if (!m) throw new BuildError('BAD_CHECKSUM', `invalid --checksum ${JSON.stringify(s)}`, 'use --checksum=sha256:<64 hex digits>');
  return s;
}

/** Downloads url into dir/<name>; verifies the checksum; returns the file's path and sha256. */
export async function downloadUrl(url: string, dir: string, opts: { checksum?: string; signal?: AbortSignal } = {}): Promise<{ name: string; path: string; digest: string }> {
  const { Agent, interceptors, request } = await import('undici');
  const name = urlFileName(url);
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  // Its own connection pool, closed after the download: idle keep-alive sockets would hold the process open.
  const agent = new Agent();
  try {
    return await fetchInto(url, path, name, agent, interceptors, request, opts);
  } finally {
    await agent.close();
  }
}

/** A file ADD downloaded: where it is and its sha256. */
export interface Downloaded {
  /** The directory holding only this file. */
  dir: string;
  name: string;
  path: string;
  digest: string;
}

/** Names the directory of downloads handed from a build to its re-run inside the build namespace. */
const HANDOVER_ENV = 'RBUILD_ADD_DOWNLOADS';

/**
 * The downloads of one build: each URL is fetched once, under `tmpDir`, and shared by the cache
 * key and every step that adds it (a --checksum is checked per use). Concurrent requests for a URL
 * wait for the same download. When the build must re-run inside its namespace, close(true) hands
 * the files to the re-run (through the environment it inherits), which then does not fetch again.
 */
export class Downloads {
  private readonly byUrl = new Map<string, Promise<Downloaded>>();
  private dirName: string | undefined;
  /** Whether the directory may exist: taken over from the first pass, or a download was started. */
  private touched: boolean;
  constructor(private readonly tmpDir: string) {
    const inherited = process.env[HANDOVER_ENV];
    // Only a directory of this store's tmp/ is taken over (never a path from elsewhere).
    this.touched = Boolean(inherited && dirname(inherited) === tmpDir);
    if (this.touched) this.dirName = inherited!;
  }

  // Named on first use: most builds download nothing, and randomBytes would load node:crypto.
  private get dir(): string {
    return (this.dirName ??= join(this.tmpDir, `add-${randomBytes(6).toString('hex')}`));
  }

  /** The downloaded file for `url`, fetched on first use; rejects when it does not match `checksum`. */
  async get(url: string, checksum?: string, signal?: AbortSignal): Promise<Downloaded> {
    let p = this.byUrl.get(url);
    if (!p) {
      this.touched = true;
      p = this.fetch(url, signal);
      this.byUrl.set(url, p);
      // A failed download is not remembered: the next use tries again (and reports its own error).
      p.catch(() => this.byUrl.delete(url));
    }
    const d = await p;
    if (checksum && d.digest !== parseChecksum(checksum)) {
      throw new BuildError('ADD_CHECKSUM', `${url}: checksum mismatch: expected ${checksum}, got ${d.digest}`);
    }
    return d;
  }

  private async fetch(url: string, signal?: AbortSignal): Promise<Downloaded> {
    const id = createHash('sha256').update(url).digest('hex').slice(0, 32);
    const dir = join(this.dir, id);
    const done = join(this.dir, `${id}.json`);
    try {
      // Fetched by the process that handed this build over.
      const { name, digest } = JSON.parse(await readFile(done, 'utf8')) as { name: string; digest: string };
      return { dir, name, path: join(dir, name), digest };
    } catch {
      // not downloaded yet
    }
    await rm(dir, { recursive: true, force: true });
    const d = await downloadUrl(url, dir, signal ? { signal } : {});
    // Written last: it marks the download complete.
    await writeFile(done, JSON.stringify({ name: d.name, digest: d.digest }));
    return { ...d, dir };
  }

  /** Waits for downloads still running, then removes the files, or with `handOver` leaves them to the build's re-run. */
  async close(handOver = false): Promise<void> {
    await Promise.allSettled([...this.byUrl.values()]);
    if (!handOver) {
      // Nothing was ever downloaded (most builds): no directory to look for.
      if (this.touched) await rm(this.dir, { recursive: true, force: true });
      return;
    }
    process.env[HANDOVER_ENV] = this.dir;
    // This process waits for the re-run and exits after it: then the files go.
    const dir = this.dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
}

async function fetchInto(
  url: string, path: string, name: string, agent: import('undici').Agent, interceptors: typeof import('undici').interceptors,
  request: typeof import('undici').request, opts: { checksum?: string; signal?: AbortSignal },
): Promise<{ name: string; path: string; digest: string }> {
  let res;
  try {
    // Redirects are followed (download links often redirect to a CDN).
    res = await request(url, { method: 'GET', dispatcher: agent.compose(interceptors.redirect({ maxRedirections: 10 })), ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (err) {
    throw new BuildError('ADD_DOWNLOAD', `downloading ${url}: ${(err as Error).message}`, undefined, { cause: err });
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    await res.body.dump().catch(() => undefined);
    throw new BuildError('ADD_DOWNLOAD', `downloading ${url}: ${res.statusCode} from ${new URL(url).host}`);
  }
  const hash = createHash('sha256');
  // digest on the way through
  const digesting = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(res.body, digesting, createWriteStream(path, { mode: 0o600 }), { ...(opts.signal ? { signal: opts.signal } : {}) });
  const digest = `sha256:${hash.digest('hex')}`;
  if (opts.checksum && digest !== parseChecksum(opts.checksum)) {
    throw new BuildError('ADD_CHECKSUM', `${url}: checksum mismatch: expected ${opts.checksum}, got ${digest}`);
  }
  await chmod(path, 0o600);
  const lm = res.headers['last-modified'];
  const when = typeof lm === 'string' ? Date.parse(lm) : NaN;
  if (!Number.isNaN(when)) await utimes(path, new Date(when), new Date(when));
  return { name, path, digest };
}

function run(cmd: string, args: string[], signal?: AbortSignal, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}), ...(cwd ? { cwd } : {}), env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new BuildError('ADD_GIT', `${cmd} ${args.join(' ')} failed: ${err.trim().split('\n').pop() ?? code}`))));
  });
}

/** Clones a git URL (`#ref` selects a branch or tag) into dir; returns the commit. */
export async function gitClone(url: string, dir: string, opts: { keepGitDir: boolean; signal?: AbortSignal }): Promise<string> {
  const hash = url.indexOf('#');
  const repo = hash < 0 ? url : url.slice(0, hash);
  const ref = hash < 0 ? '' : url.slice(hash + 1).split(':')[0]!;
  await run('git', ['clone', '--quiet', '--depth', '1', ...(ref ? ['--branch', ref] : []), '--', repo, dir], opts.signal);
  const commit = (await run('git', ['-C', dir, 'rev-parse', 'HEAD'], opts.signal)).trim();
  if (!opts.keepGitDir) await rm(join(dir, '.git'), { recursive: true, force: true });
  return commit;
}

/** The commit a git URL points at now, without cloning (for the cache key). */
export async function gitRemoteCommit(url: string, signal?: AbortSignal): Promise<string> {
  const hash = url.indexOf('#');
  const repo = hash < 0 ? url : url.slice(0, hash);
  const ref = hash < 0 ? 'HEAD' : url.slice(hash + 1).split(':')[0]!;
  const out = await run('git', ['ls-remote', '--', repo, ref], signal);
  const line = out.split('\n').find((l) => l.trim() !== '');
  if (!line) throw new BuildError('ADD_GIT', `git ref ${JSON.stringify(ref)} not found in ${repo}`);
  return line.split(/\s+/)[0]!;
}

/** Archive kinds ADD unpacks. */
export type ArchiveKind = 'tar' | 'gzip' | 'bzip2' | 'xz';

/** Detects a tar archive by its first bytes (compressed ones by magic; plain tar by the ustar magic). */
export async function detectArchive(path: string): Promise<ArchiveKind | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const b = buf.subarray(0, bytesRead);
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
    if (b.length >= 3 && b.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
    if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
    if (b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return undefined;
  } finally {
    await fh.close();
  }
}

/**
 * Unpacks an archive into a host directory (inside the step's root). node-tar refuses absolute
 * paths, `..` and writing through symlinks; owners are kept (we are root in the build namespace)
 * unless `owner` is given.
 */
export async function extractArchive(path: string, kind: ArchiveKind, dest: string, owner?: { uid: number; gid: number }, signal?: AbortSignal): Promise<void> {
  await mkdir(dest, { recursive: true });
  // node-tar (and the stream, zlib and assert modules it loads) only when an archive is unpacked:
  // every build loads this module, and a fully cached one must not pay for it.
  const tar = await import('tar');
  const x = tar.x({ cwd: dest, strict: true, ...(owner ? { uid: owner.uid, gid: owner.gid, preserveOwner: false } : { preserveOwner: true }), processUmask: 0 } as TarOptionsWithAliasesAsyncNoFile);
  if (kind === 'tar' || kind === 'gzip') {
    await pipeline(createReadStream(path), x, { ...(signal ? { signal } : {}) });
    return;
  }
  const child = spawn(kind === 'xz' ? 'xz' : 'bzip2', ['-dc', path], { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new BuildError('ADD_ARCHIVE', `${kind} -d ${path}: ${err.trim() || `exit ${code}`}`))));
  });
  await Promise.all([pipeline(child.stdout as Readable, x), exited]);
}
