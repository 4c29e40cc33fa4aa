/**
 * rbuild's own namespace: non-root users re-execute rbuild under `rbuild-helper userns` (a user namespace
 * mapped with their subuid/subgid ranges plus a private mount namespace, like `buildah unshare`); real root
 * gets a private mount namespace only. Mounts made inside vanish with the process, even after kill -9.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { checkHelper, helperPath } from './native-helper.js';

/** How rbuild's namespace maps ids: `full` (subuid ranges), `single` (own id only), `root` (real root, no user namespace). */
export type MappingMode = 'full' | 'single' | 'root';

/** What the current process knows about the build namespace it runs in. */
export interface BuildNamespace {
  mode: MappingMode;
  /** The uid outside (the user who ran rbuild). */
  outerUid: number;
  /** Why the mapping is single: `no-subids` or `newuidmap-failed`. */
  reason?: string;
  /** newuidmap's own words when it failed. */
  detail?: string;
}

/** The result of ensureBuildNamespace: go on in this process, or the re-executed rbuild already ran and exited. */
export type EnterResult = { kind: 'inside'; ns: BuildNamespace } | { kind: 'exited'; code: number };

/** The build namespace this process runs in, from the variables the helper sets; undefined outside. */
export function currentNamespace(env: NodeJS.ProcessEnv = process.env): BuildNamespace | undefined {
  if (env.RBUILD_USERNS !== '1') return undefined;
  const mode = (['full', 'single', 'root'] as const).find((m) => m === env.RBUILD_USERNS_MAP) ?? 'full';
  const ns: BuildNamespace = { mode, outerUid: Number(env.RBUILD_USERNS_OUTER_UID ?? process.getuid?.() ?? 0) };
  if (env.RBUILD_USERNS_REASON) ns.reason = env.RBUILD_USERNS_REASON;
  if (env.RBUILD_USERNS_DETAIL) ns.detail = env.RBUILD_USERNS_DETAIL;
  return ns;
}

/** The one line the CLI prints for a single-id mapping (with the exact fix); undefined for a full mapping. */
export function mappingWarning(ns: BuildNamespace, user: string = process.env.USER ?? '$USER'): string | undefined {
  if (ns.mode !== 'single') return undefined;
  const why = ns.reason === 'newuidmap-failed' ? `newuidmap failed (${ns.detail ?? 'no detail'})` : `no subuid/subgid range for ${user}`;
  return (
    `warning: ${why}: using a single-id user namespace; files owned by other users cannot be created (USER and chown to ` +
    `other ids fail). Fix: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}`
  );
}

/** Options of ensureBuildNamespace (defaults: this process). */
export interface EnsureOptions {
  /** The command line to re-execute (default process.argv: node, main.js, args). */
  argv?: string[];
  execArgv?: string[];
  helperPath?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Makes sure the rest of this command runs in the build namespace. Inside already: `{kind:'inside'}`.
 * Otherwise it runs this same command line again under the helper, waits for it (forwarding SIGINT,
 * SIGTERM and SIGHUP, ignoring them itself) and returns `{kind:'exited', code}`: the caller exits with code.
 */
export async function ensureBuildNamespace(opts: EnsureOptions = {}): Promise<EnterResult> {
  const env = opts.env ?? process.env;
  const inside = currentNamespace(env);
  if (inside) return { kind: 'inside', ns: inside };
  const helper = opts.helperPath ?? helperPath(env);
  await checkHelper(helper);
  const argv = opts.argv ?? process.argv;
  const execArgv = opts.execArgv ?? process.execArgv;
  const root = process.getuid?.() === 0;
  const args = ['userns', ...(root ? ['--mount-only'] : []), '--', argv[0]!, ...execArgv, ...argv.slice(1)];
  const child = spawn(helper, args, { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals): void => {
    child.kill(sig);
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of sigs) process.on(s, forward);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve(c ?? 128 + (s ? ((constants.signals as Record<string, number>)[s] ?? 0) : 0)));
    });
    return { kind: 'exited', code };
  } finally {
    for (const s of sigs) process.off(s, forward);
  }
}
