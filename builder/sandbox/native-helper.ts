/** Locates the native rbuild-helper and checks that it speaks our protocol (esbuild-style). */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SandboxError } from './errors.js';

// Made on first use: touching execFile at load time would load node:child_process in every command (lazy built-ins, .ci/bundle.mjs).
const execFileP = (file: string, args: string[]): Promise<{ stdout: string; stderr: string }> => promisify(execFile)(file, args);

/** The protocol version this TypeScript side speaks; native/src/protocol.h must say the same. */
export const HELPER_PROTOCOL = 1;

/** The helper's own failure exit code (the step did not run or was not reaped). */
export const HELPER_EXIT_ERROR = 125;

/** The package root: the nearest parent directory holding rbuild's package.json (works from dist/ and from sources). */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'rbuild') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new SandboxError('EHELPERMISSING', `no rbuild package.json above ${from}`);
    dir = up;
  }
}

/** Path of the helper executable: $RBUILD_HELPER, else native/build/Release/rbuild-helper in the package. */
export function helperPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RBUILD_HELPER) return env.RBUILD_HELPER;
  return join(packageRoot(), 'native/build/Release/rbuild-helper');
}

/** Whether the helper could create a namespace here, and the errno when not. */
export interface NamespaceProbe {
  ok: boolean;
  errno?: string;
}

/** What `rbuild-helper features` said (pure data; older helpers print fewer lines). */
export interface HelperFeatures {
  /** Whether the seccomp profile was compiled in (libseccomp-dev at build time). */
  seccomp: boolean;
  /** Whether the helper has the `run-chroot` mode. */
  chroot: boolean;
  /** unshare(CLONE_NEWUSER) in a child. */
  userns?: NamespaceProbe;
  /** What rbuild's own namespace needs: a mount namespace with / made private (plus a user namespace when not root). */
  mountns?: NamespaceProbe;
}

/** What the helper reports about itself. */
export interface HelperInfo extends HelperFeatures {
  path: string;
  protocol: number;
}

/** Parses the output of `rbuild-helper features` (unknown lines ignored so newer helpers can add some). */
export function parseFeatures(text: string): HelperFeatures {
  const out: HelperFeatures = { seccomp: false, chroot: false };
  for (const line of text.split('\n')) {
    const [key, value, errno] = line.trim().split(/\s+/);
    if (key === 'seccomp') out.seccomp = value === '1';
    else if (key === 'chroot') out.chroot = value === '1';
    else if (key === 'userns' || key === 'mountns') out[key] = value === '1' ? { ok: true } : { ok: false, ...(errno ? { errno } : {}) };
  }
  return out;
}

const checked = new Map<string, Promise<HelperInfo>>();

/** Runs `version` and `features` once per path; rejects a missing helper or a protocol mismatch. */
export function checkHelper(path: string = helperPath()): Promise<HelperInfo> {
  let p = checked.get(path);
  if (!p) {
    p = probe(path);
    checked.set(path, p);
    p.catch(() => checked.delete(path));
  }
  return p;
}

async function probe(path: string): Promise<HelperInfo> {
  if (!existsSync(path)) {
    throw new SandboxError('EHELPERMISSING', `rbuild-helper not found at ${path}`, {
      hint: 'build it: npm rebuild (needs build-essential and python3; libseccomp-dev for the seccomp profile)',
    });
  }
  let version: string;
  let features: string;
  try {
    version = (await execFileP(path, ['version'])).stdout;
    features = (await execFileP(path, ['features'])).stdout;
  } catch (cause) {
    throw new SandboxError('EHELPERMISSING', `cannot run rbuild-helper at ${path}`, { cause, hint: 'npm rebuild' });
  }
  const m = /^rbuild-helper (\d+)\s*$/.exec(version);
  const protocol = m ? Number(m[1]) : NaN;
  if (protocol !== HELPER_PROTOCOL) {
    throw new SandboxError(
      'EHELPERVERSION',
      `rbuild-helper at ${path} speaks protocol ${m ? protocol : JSON.stringify(version.trim())}, rbuild needs ${HELPER_PROTOCOL}`,
      { hint: 'rebuild the helper with this version of rbuild: npm rebuild' },
    );
  }
  return { path, protocol, ...parseFeatures(features) };
}
