/**
 * Running rbuild as the unprivileged test users that `.ci/setup` creates.
 * The built app (dist/, native/build/, node_modules) is copied once per test
 * run to a world-readable place, because the checkout may live where those
 * users cannot read (CI clones anywhere, /root is 0700).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The test user with a 65536-id subuid/subgid range. */
export const TEST_USER = 'rbuild-test';
/** The test user without any subuid/subgid range. */
export const NOSUB_USER = 'rbuild-nosub';

const repoRoot = new URL('../..', import.meta.url).pathname;

/** uid, gid and home of a local user. */
export function userInfo(name: string): { uid: number; gid: number; home: string } {
  const line = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim();
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5]! };
}

/** Copies the built app where every user can read it; returns its directory. Called by global setup. */
export function copyAppForTestUsers(): string {
  const main = join(repoRoot, 'dist/builder/cli/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'rbuild-app-'));
  for (const part of ['package.json', 'dist', 'node_modules', 'native/build/Release']) {
    const src = join(repoRoot, part);
    if (existsSync(src)) cpSync(src, join(dir, part), { recursive: true, verbatimSymlinks: true });
  }
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  return dir;
}

/** Removes a copy made by copyAppForTestUsers. */
export function removeAppCopy(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Temporary directories made by tempDirFor/tempDir in this test file's process, for removeTempDirs. */
const madeDirs: string[] = [];

/** A fresh temporary directory owned by `user` (removed by removeTempDirs). */
export function tempDirFor(user: string, prefix = 'rbuild-t-'): string {
  const { uid, gid } = userInfo(user);
  const dir = tempDir(prefix);
  chownSync(dir, uid, gid);
  return dir;
}

/** A fresh temporary directory (removed by removeTempDirs). */
export function tempDir(prefix = 'rbuild-t-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

/** Removes every directory tempDirFor/tempDir made so far: `afterAll(removeTempDirs)` leaves /tmp as it was. */
export function removeTempDirs(): void {
  for (const d of madeDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** The result of a command run as another user. */
export interface RunAsResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options for runAs. */
export interface RunAsOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  /** Called with the child right after spawn (to send signals in tests). */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void;
}

/**
 * Runs argv as `user` with a clean environment (HOME, USER, PATH, plus `env`),
 * through setpriv so that no PAM session or root helper stays around.
 */
export function runAs(user: string, argv: string[], opts: RunAsOptions = {}): Promise<RunAsResult> {
  const { uid, gid, home } = userInfo(user);
  const env: Record<string, string> = {
    HOME: home,
    USER: user,
    LOGNAME: user,
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    ...opts.env,
  };
  const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--', ...argv], {
    cwd: opts.cwd ?? '/',
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  opts.onSpawn?.(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.end(opts.input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
  });
}

/** Makes a directory (and parents) owned by `user`. */
export function mkdirFor(user: string, path: string): string {
  const { uid, gid } = userInfo(user);
  mkdirSync(path, { recursive: true });
  chownSync(path, uid, gid);
  return path;
}
