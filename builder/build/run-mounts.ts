/**
 * RUN --mount: turns the parsed mounts of a step into the sandbox's bind and
 * tmpfs mounts, plus environment variables (secrets as env, SSH_AUTH_SOCK).
 * Nothing a mount brings ends up in the layer: sources live outside the step's
 * root, and mount points the step needed are removed again (see mountPoints).
 * Cache mounts persist per id under `<root>/cache/mounts/`, across cache misses.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';
import { chmodSync, chownSync, copyFileSync, lchownSync, linkSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, utimesSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import type { StepMount } from '../sandbox/sandbox.js';
import type { RunMount } from '../dockerfile/instructions.js';
import { BuildError } from './errors.js';
import { resolveInRoot } from './resolve-in-root.js';

// Made on first use: touching execFile at load time loads node:child_process in every build (lazy built-ins, .ci/bundle.mjs).
const execFileP = (file: string, args: string[], opts: { signal?: AbortSignal }): Promise<{ stdout: string; stderr: string }> => promisify(execFile)(file, args, opts);

/** Where a `--secret` value comes from. */
export interface SecretSource {
  file?: string;
  env?: string;
}

/** What mounts can draw on. */
export interface MountSources {
  /** The store root (cache mounts and temp files live under it). */
  storeRoot: string;
  /** The build context directory (default source of bind mounts). */
  contextDir: string;
  /** The context with its .dockerignore rules: a bind of the context shows only what is not ignored. */
  context?: ContextTree;
  /** --secret values by id. */
  secrets: ReadonlyMap<string, SecretSource>;
  /** --ssh agent sockets by id. */
  ssh: ReadonlyMap<string, string>;
  /** A read-only root of a stage or image for `from=`, held until release. */
  openFrom(ref: string): Promise<{ root: string; release(): Promise<void> }>;
  /** What a stage or image holds (its layers or digest): a cache seeded from it is keyed by it. */
  fromKey?(ref: string): Promise<string>;
}

/** The build context as bind mounts read it (BuildContext fits). */
export interface ContextTree {
  resolve(patterns: string[]): Promise<Array<{ rel: string; abs: string; stat: Stats }>>;
  walk(src: { rel: string; abs: string; stat: Stats }): AsyncIterable<{ rel: string; abs: string; stat: Stats }>;
}

/** The sandbox mounts and environment for one step; release() after the step. */
export interface PreparedMounts {
  mounts: StepMount[];
  env: Array<[string, string]>;
  release(): Promise<void>;
}

/**
 * The directory of a cache mount: a digest of its id, so any id is a safe file name. As in
 * BuildKit, a cache with a base (from=/source=, or the uid/gid/mode its empty root is made with)
 * is a different cache from the same id on another base.
 */
export function cacheMountDir(storeRoot: string, id: string, base = ''): string {
  return join(storeRoot, 'cache', 'mounts', createHash('sha256').update(base === '' ? id : `${id}\0${base}`).digest('hex').slice(0, 32));
}

/** What a cache mount starts from, as part of its identity ('' for a plain empty directory). */
export function cacheMountBase(m: Extract<RunMount, { type: 'cache' }>, fromKey?: string): string {
  if (m.from) return JSON.stringify(['from', fromKey ?? m.from, posix.resolve('/', m.source ?? '/')]);
  if (m.uid === undefined && m.gid === undefined && m.mode === undefined) return '';
  return JSON.stringify(['mkdir', m.uid ?? 0, m.gid ?? 0, m.mode ?? 0o755]);
}

/** A mount target made absolute against the step's working directory. */
export function mountTarget(cwd: string, target: string): string {
  return posix.resolve('/', cwd, target);
}

/** Prepares a step's mounts; on failure everything already prepared is released. */
export async function prepareRunMounts(specs: RunMount[], cwd: string, src: MountSources, signal?: AbortSignal): Promise<PreparedMounts> {
  const mounts: StepMount[] = [];
  const env: Array<[string, string]> = [];
  const releases: Array<() => Promise<void>> = [];
  const release = async (): Promise<void> => {
    for (const r of releases.reverse()) await r().catch(() => undefined);
    releases.length = 0;
  };
  const tmpDir = async (prefix: string): Promise<string> => {
    const d = join(src.storeRoot, 'tmp', `${prefix}-${randomBytes(6).toString('hex')}`);
    await mkdir(d, { recursive: true });
    releases.push(() => rm(d, { recursive: true, force: true }));
    return d;
  };
  try {
    for (const m of specs) {
      signal?.throwIfAborted();
      switch (m.type) {
        case 'tmpfs':
          mounts.push({ type: 'tmpfs', target: mountTarget(cwd, m.target), ...(m.size !== undefined ? { sizeBytes: m.size } : {}) });
          break;
        case 'bind': {
          let base = src.contextDir;
          if (m.from) {
            const view = await src.openFrom(m.from);
            releases.push(view.release);
            base = view.root;
          }
          // source= is resolved inside the context or the stage's root: symlinks cannot leave it.
          let source = resolveInRoot(base, m.source ?? '/');
          await lstat(source).catch(() => {
            throw new BuildError('MOUNT_SOURCE', `--mount source ${JSON.stringify(m.source ?? '/')} not found in ${m.from ? `"${m.from}"` : 'the build context'}`);
          });
          let copied = false;
          if (!m.from && src.context) {
            // BuildKit sends the context without its ignored files: a bind of it does not show them.
            const rel = relative(src.contextDir, source).split(sep).join('/');
            const [resolved] = await src.context.resolve([rel === '' ? '.' : rel]);
            if (resolved && (await hidesSomething(src.context, resolved))) {
              const tree = join(await tmpDir('bind-ctx'), 'src');
              await filteredCopy(src.context, resolved, tree, m.readonly, signal);
              source = tree;
              copied = true;
            }
          }
          if (!m.readonly && !copied) {
            // Writes to a bind mount are discarded (BuildKit): the step writes into a copy.
            const copy = join(await tmpDir('bind-rw'), 'src');
            await execFileP('cp', ['-a', '--', source, copy], signal ? { signal } : {});
            source = copy;
          }
          mounts.push({ type: 'bind', source, target: mountTarget(cwd, m.target), readonly: m.readonly });
          break;
        }
        case 'cache': {
          if (!m.from && m.source !== undefined && posix.resolve('/', m.source) !== '/') {
            // BuildKit: without from= the base is an empty directory, which has no sub path.
            throw new BuildError('MOUNT_SOURCE', `cache mount source=${JSON.stringify(m.source)} needs from=`, 'add from=STAGE_OR_IMAGE to seed the cache from that path, or drop source=');
          }
          const fromKey = m.from ? await (src.fromKey?.(m.from) ?? Promise.resolve(m.from)) : undefined;
          const dir = cacheMountDir(src.storeRoot, m.id, cacheMountBase(m, fromKey));
          await ensureCacheDir(dir, m, m.from ? seedFrom(m.from, m.source ?? '/', src) : undefined, signal);
          let source = dir;
          if (m.sharing === 'locked') releases.push(await lockDir(`${dir}.lock`, signal));
          if (m.sharing === 'private') {
            // A private cache: this step gets its own copy of the shared content, thrown away after.
            source = join(await tmpDir('cache-private'), 'c');
            await execFileP('cp', ['-a', '--', dir, source], signal ? { signal } : {});
          }
          mounts.push({ type: 'bind', source, target: mountTarget(cwd, m.target), readonly: m.readonly });
          break;
        }
        case 'secret': {
          const value = await secretValue(m.id, src.secrets.get(m.id));
          if (value === undefined) {
            if (m.required) throw new BuildError('SECRET_MISSING', `secret ${JSON.stringify(m.id)} is required but was not given`, `pass it with --secret id=${m.id},src=FILE (or env=VAR)`);
            break;
          }
          if (m.env) env.push([m.env, value.toString('utf8')]);
          if (m.target) {
            const file = join(await tmpDir('secret'), 'value');
            await writeFile(file, value, { mode: 0o600 });
            await chown(file, m.uid, m.gid);
            await chmod(file, m.mode);
            mounts.push({ type: 'bind', source: file, target: mountTarget(cwd, m.target), readonly: true });
          }
          break;
        }
        case 'ssh': {
          const sock = src.ssh.get(m.id);
          if (!sock) {
            if (m.required) throw new BuildError('SSH_MISSING', `ssh agent ${JSON.stringify(m.id)} is required but was not given`, `pass it with --ssh ${m.id}`);
            break;
          }
          const target = mountTarget(cwd, m.target);
          // As BuildKit: the step gets a socket of its own, owned and moded as the mount says,
          // forwarding to the agent (the user's socket itself is never chowned or exposed).
          let dir = await tmpDir('ssh');
          if (join(dir, 'agent').length > SUN_PATH_MAX) {
            dir = await mkdtemp(join(tmpdir(), 'rbuild-ssh-'));
            const d = dir;
            releases.push(() => rm(d, { recursive: true, force: true }));
          }
          const proxy = join(dir, 'agent');
          releases.push(await forwardSocket(sock, proxy));
          await chown(proxy, m.uid, m.gid);
          await chmod(proxy, m.mode);
          mounts.push({ type: 'bind', source: proxy, target, readonly: false });
          if (!env.some(([k]) => k === 'SSH_AUTH_SOCK')) env.push(['SSH_AUTH_SOCK', target]);
          break;
        }
      }
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { mounts, env, release };
}

/** Whether .dockerignore hides anything under a context source (then it cannot be bound as it is). */
async function hidesSomething(ctx: ContextTree, src: { rel: string; abs: string; stat: Stats }): Promise<boolean> {
  if (!src.stat.isDirectory()) return false;
  const all = readdirSync(src.abs, { recursive: true }).length;
  let shown = -1; // the source itself
  for await (const _ of ctx.walk(src)) shown++;
  return shown !== all;
}

/**
 * The context source as the step may see it, in `dest`: directories made, files hard-linked when
 * read-only (no copy of a big context; the mount is read-only so the step cannot write through the
 * links) or copied, symlinks recreated; owners and modes kept.
 */
async function filteredCopy(ctx: ContextTree, src: { rel: string; abs: string; stat: Stats }, dest: string, readonly: boolean, signal?: AbortSignal): Promise<void> {
  const dirs: Array<[string, Stats]> = [];
  for await (const e of ctx.walk(src)) {
    signal?.throwIfAborted();
    const to = e.rel === '' ? dest : join(dest, e.rel);
    // A re-included (`!`) path may sit in an ignored directory: its parents are made bare.
    if (e.rel !== '') mkdirSync(dirname(to), { recursive: true });
    const st = e.stat;
    if (st.isDirectory()) {
      mkdirSync(to, { recursive: true });
      dirs.push([to, st]);
      continue;
    }
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(e.abs), to);
    else if (st.isFile()) {
      let linked = false;
      if (readonly) {
        try {
          linkSync(e.abs, to);
          linked = true;
        } catch {
          // another file system, or hard links not allowed here: copy
        }
      }
      if (linked) continue;
      copyFileSync(e.abs, to);
      // chown first: it clears set-id bits that chmod then restores.
      chownSync(to, st.uid, st.gid);
      chmodSync(to, st.mode & 0o7777);
      utimesSync(to, st.atime, st.mtime);
    } else continue; // sockets, fifos, devices: not part of a context
    if (st.isSymbolicLink()) lchownSync(to, st.uid, st.gid);
  }
  // Directories last, deepest first, so adding their entries does not change their times.
  for (const [d, st] of dirs.reverse()) {
    chownSync(d, st.uid, st.gid);
    chmodSync(d, st.mode & 0o7777);
    utimesSync(d, st.atime, st.mtime);
  }
}

/** sun_path holds 108 bytes with the terminating NUL. */
const SUN_PATH_MAX = 107;

/** Listens on `path` and pipes every connection to the socket `to`; the returned function stops it and drops open connections. */
export async function forwardSocket(to: string, path: string): Promise<() => Promise<void>> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(to);
    open.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return async () => {
    for (const s of open) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

async function secretValue(id: string, s: SecretSource | undefined): Promise<Buffer | undefined> {
  if (s?.file) {
    try {
      return await readFile(s.file);
    } catch (err) {
      throw new BuildError('SECRET_MISSING', `cannot read secret ${JSON.stringify(id)} from ${s.file}`, undefined, { cause: err });
    }
  }
  const name = s?.env ?? (s ? id : undefined);
  const v = name !== undefined ? process.env[name] : undefined;
  return v === undefined ? undefined : Buffer.from(v);
}

/** Fills a new cache directory before first use. */
type Seed = (dest: string, signal?: AbortSignal) => Promise<void>;

/** Copies a directory of a stage or image into `dest` (which exists), with its root's owner and mode. */
function seedFrom(from: string, source: string, src: MountSources): Seed {
  return async (dest, signal) => {
    const view = await src.openFrom(from);
    try {
      const path = resolveInRoot(view.root, source);
      const st = await stat(path).catch(() => undefined);
      if (!st?.isDirectory()) throw new BuildError('MOUNT_SOURCE', `cache mount source ${JSON.stringify(source)} is not a directory in "${from}"`);
      await execFileP('cp', ['-a', '--', `${path}/.`, dest], signal ? { signal } : {});
      await chown(dest, st.uid, st.gid);
      await chmod(dest, st.mode & 0o7777);
    } finally {
      await view.release();
    }
  };
}

/** Creates a cache mount's directory on first use (seeded, owner and mode applied); later uses find it as they left it. */
async function ensureCacheDir(dir: string, m: Extract<RunMount, { type: 'cache' }>, seed?: Seed, signal?: AbortSignal): Promise<void> {
  try {
    await stat(dir);
    return;
  } catch {
    // first use
  }
  await mkdir(join(dir, '..'), { recursive: true });
  const tmp = `${dir}.${randomBytes(4).toString('hex')}.new`;
  await mkdir(tmp);
  try {
    if (seed) await seed(tmp, signal);
    // Without from= the root is made with the Dockerfile's uid/gid/mode (BuildKit's defaults 0:0 0755);
    // with from= the seed's own owner and mode stay unless the Dockerfile names them.
    if (!seed || m.uid !== undefined || m.gid !== undefined) {
      const st = await stat(tmp);
      await chown(tmp, m.uid ?? (seed ? st.uid : 0), m.gid ?? (seed ? st.gid : 0));
    }
    if (!seed || m.mode !== undefined) await chmod(tmp, m.mode ?? 0o755);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  const { rename } = await import('node:fs/promises');
  // Another build may have created it meanwhile: then ours goes away.
  await rename(tmp, dir).catch(() => rm(tmp, { recursive: true, force: true }));
}

/** An exclusive lock (mkdir is atomic); a lock whose holder died is taken over. */
async function lockDir(lock: string, signal?: AbortSignal): Promise<() => Promise<void>> {
  for (;;) {
    signal?.throwIfAborted();
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      return () => rm(lock, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
    if (pid > 0 && !alive(pid)) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Path components of the mount targets that do not exist in `root` yet (deepest last).
 * The sandbox creates them as mount points; removeMountPoints deletes them after the step.
 */
export async function missingMountPoints(root: string, targets: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const t of targets) {
    const parts = t.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const p = `/${parts.slice(0, i).join('/')}`;
      if (missing.includes(p)) continue;
      const host = resolveInRoot(root, p, false);
      if (!(await lstat(host).then(() => true, () => false))) missing.push(p);
    }
  }
  return missing;
}

/** Removes mount points created for a step: empty directories and empty files only (the step may have filled them). */
export async function removeMountPoints(root: string, created: string[]): Promise<void> {
  for (const p of [...created].sort((a, b) => b.length - a.length)) {
    const host = resolveInRoot(root, p, false);
    const st = await lstat(host).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) await rmdir(host).catch(() => undefined);
    else if (st.isFile() && st.size === 0) await unlink(host).catch(() => undefined);
  }
}
