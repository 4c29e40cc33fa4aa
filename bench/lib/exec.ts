/**
 * Runs one command as the unprivileged bench user and times it: wall clock
 * from spawn to exit (the same overhead for every tool), peak RSS from GNU
 * time's `%M` when /usr/bin/time is installed. Never throws for a failing
 * command: the failure is part of the result.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userInfo } from '../../test/support/unprivileged.js';

/** What one timed run gave. */
export interface TimedRun {
  seconds: number;
  peakRssKiB: number | null;
  /** 0 on success. */
  code: number | null;
  /** The first meaningful line of stderr when the command failed. */
  error?: string;
}

/** How to run a command. */
export interface RunSpec {
  argv: string[];
  /** Extra environment on top of HOME, USER, PATH, LANG. */
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the command after this many seconds (recorded as an error). */
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

const GNU_TIME = '/usr/bin/time';

/** Whether peak RSS can be measured (GNU time is installed). */
export function canMeasureRss(): boolean {
  return existsSync(GNU_TIME);
}

/** The first stderr line worth showing: skips blank lines and progress noise, keeps errors. */
export function firstErrorLine(stderr: string, code: number | null, signal: string | null): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const err = lines.find((l) => /error|fail|denied|not found|unknown|cannot|invalid/i.test(l)) ?? lines[0];
  const why = signal ? `killed by ${signal}` : `exit ${code}`;
  // The tools prefix their messages with "error:" / "Error:"; the report adds its own.
  return err ? `${err.replace(/^error:\s*/i, '').slice(0, 300)} (${why})` : why;
}

/**
 * With RBUILD_BENCH_LOGS=DIR, each timed command's stderr (rbuild's plain progress
 * with per-step times) is kept as DIR/NNN-tool.log: where a figure's time went.
 */
function keepLog(argv: string[], seconds: number, stderr: string): void {
  const dir = process.env.RBUILD_BENCH_LOGS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const n = String(readdirSync(dir).length).padStart(3, '0');
  const i = argv.findIndex((a) => !a.startsWith('-') && a !== 'node');
  const prog = argv[i]?.split('/').pop() ?? 'cmd';
  const tool = prog === 'main.js' ? `rbuild-${argv[i + 1]}` : prog;
  writeFileSync(join(dir, `${n}-${tool}.log`), `$ ${argv.join(' ')}\n# ${seconds.toFixed(3)} s\n${stderr}`);
}

/** Runs argv as `user` (setpriv, clean environment) and times it. */
export function runTimed(user: string, spec: RunSpec): Promise<TimedRun> {
  const { uid, gid, home } = userInfo(user);
  const env: Record<string, string> = {
    HOME: home,
    USER: user,
    LOGNAME: user,
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    ...spec.env,
  };
  const timeDir = canMeasureRss() ? mkdtempSync(join(tmpdir(), 'rbuild-bench-time-')) : null;
  const rssFile = timeDir ? join(timeDir, 'rss') : '';
  // setpriv execs the command, so GNU time's rusage is the command's (and its reaped children's).
  const inner = ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--', ...spec.argv];
  const argv = timeDir ? [GNU_TIME, '-f', '%M', '-o', rssFile, ...inner] : inner;
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(argv[0]!, argv.slice(1), { cwd: spec.cwd ?? '/', env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => {
      if (stderr.length < 64_000) stderr += b.toString();
    });
    let timedOut = false;
    const kill = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = spec.timeoutSeconds ? setTimeout(() => ((timedOut = true), kill()), spec.timeoutSeconds * 1000) : null;
    spec.signal?.addEventListener('abort', kill, { once: true });
    let done = false;
    const finish = (code: number | null, signal: string | null, spawnError?: Error): void => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (timer) clearTimeout(timer);
      spec.signal?.removeEventListener('abort', kill);
      let peakRssKiB: number | null = null;
      if (timeDir) {
        try {
          // GNU time writes "Command exited with non-zero status N" before the figure on failure.
          const last = readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '';
          peakRssKiB = /^\d+$/.test(last) ? Number(last) : null;
        } catch {
          // killed before time wrote it
        }
        rmSync(timeDir, { recursive: true, force: true });
      }
      keepLog(spec.argv, seconds, stderr);
      const run: TimedRun = { seconds, peakRssKiB, code };
      if (spawnError) run.error = spawnError.message;
      else if (timedOut) run.error = `timed out after ${spec.timeoutSeconds} s`;
      else if (code !== 0) run.error = firstErrorLine(stderr, code, signal);
      resolve(run);
    };
    child.on('error', (e) => finish(null, null, e));
    child.on('close', (code, signal) => finish(code, signal));
  });
}
