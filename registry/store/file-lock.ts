/**
 * A cross-process lock built from a lock file created with O_EXCL (no native
 * flock in Node). The file holds `pid hostname`; a lock whose process is gone
 * is stale and is broken. Hold it briefly: it only serialises index updates.
 */
import { hostname } from 'node:os';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from './store-error.js';

/** Options for withFileLock. */
export interface FileLockOptions {
  signal?: AbortSignal;
  /** Give up after this long (default 60 s) with `LOCK_TIMEOUT`. */
  timeoutMs?: number;
  /** A lock from another host is considered stale after this age (default 10 min). */
  foreignStaleMs?: number;
}

// Asked on first use: a process that takes no lock need not load node:os.
let hostName: string | undefined;
const host = (): string => (hostName ??= hostname());

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isStale(path: string, foreignStaleMs: number): Promise<{ stale: boolean; ino?: number; owner?: string }> {
  let content: string;
  let ino: number;
  try {
    const st = await stat(path);
    ino = st.ino;
    content = await readFile(path, 'utf8');
    // A lock file seen half-written (created, content not yet there): treat as live.
    if (content === '') return { stale: Date.now() - st.mtimeMs > 10_000, ino };
    const [pidStr, owner] = content.trim().split(' ');
    const pid = Number(pidStr);
    if (owner !== host()) return { stale: Date.now() - st.mtimeMs > foreignStaleMs, ino, owner: content.trim() };
    return { stale: !Number.isInteger(pid) || pid <= 0 || !processAlive(pid), ino, owner: content.trim() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { stale: false };
    throw err;
  }
}

// Breaking a stale lock: move it aside and check it is the very file (inode) we judged
// stale; if another breaker replaced it meanwhile with a live lock, put that one back.
async function breakStale(path: string, ino: number): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const st = await stat(aside);
  if (st.ino !== ino) {
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

/** Runs `fn` while holding the lock file at `path` (created and removed here). */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const foreignStaleMs = opts.foreignStaleMs ?? 10 * 60_000;
  const start = Date.now();
  let delay = 2;
  let lastOwner: string | undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const fh = await open(path, 'wx', 0o644);
      try {
        await fh.writeFile(`${process.pid} ${host()}\n`);
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const s = await isStale(path, foreignStaleMs);
    lastOwner = s.owner ?? lastOwner;
    if (s.stale && s.ino !== undefined) {
      await breakStale(path, s.ino);
      continue;
    }
    if (Date.now() - start > timeoutMs) {
      throw new StoreError('LOCK_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${path} (held by ${lastOwner ?? 'unknown'})`);
    }
    // Jittered backoff so that a crowd of waiters does not retry in lockstep.
    await sleep(delay + Math.random() * delay, undefined, { signal: opts.signal });
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}
