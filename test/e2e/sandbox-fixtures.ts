/** Shared setup of the sandbox e2e tests: busybox roots extracted inside the test user's namespace. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRootfsTar } from '../support/base-images.js';
import { runAs, tempDirFor, type RunAsOptions, type RunAsResult } from '../support/unprivileged.js';
import { rbuildArgv } from './build-fixtures.js';

/** `node <app> ...args` as argv (build-fixtures' app). */
export { rbuildArgv } from './build-fixtures.js';

/** Runs rbuild as `user`. */
export function rbuild(user: string, args: string[], opts: RunAsOptions = {}): Promise<RunAsResult> {
  return runAs(user, rbuildArgv(...args), opts);
}

// Device nodes (debootstrap's /dev) cannot be made in a user namespace; the sandbox provides /dev.
// chmod: the busybox tarball's "./" entry is 0700 (made with mkdtemp); image roots are 0755, and USER steps need to traverse it.
/** Extracts a root file system tarball inside `user`'s build namespace; returns the root directory. */
export async function extractRoot(user: string, tar: string = busyboxRootfsTar(), tarFlags: string[] = []): Promise<string> {
  const dir = tempDirFor(user, 'rbuild-sandbox-');
  const root = join(dir, 'root');
  const script = 'r="$1"; t="$2"; shift 2; mkdir "$r" && tar --exclude="./dev/*" "$@" -xf "$t" -C "$r" && chmod 755 "$r"';
  const r = await rbuild(user, ['unshare', '--', 'sh', '-c', script, 'sh', root, tar, ...tarFlags]);
  if (r.code !== 0) throw new Error(`extracting ${tar} as ${user} failed (${r.code}): ${r.stderr}`);
  return root;
}

/** Runs one step with `rbuild debug run` on root as user. */
export function step(user: string, root: string, cmd: string[], flags: string[] = [], opts: RunAsOptions = {}): Promise<RunAsResult> {
  // --network none unless a test asks for another (the last --network wins).
  return rbuild(user, ['debug', 'run', '--rootfs', root, '--network', 'none', '--env', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', ...flags, '--', ...cmd], opts);
}

/** The first subordinate id of user in /etc/subuid (or /etc/subgid). */
export function subidBase(user: string, file = '/etc/subuid'): number {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`${user} has no range in ${file}`);
  return Number(line.split(':')[1]);
}
