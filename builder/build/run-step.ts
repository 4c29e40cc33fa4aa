/**
 * RUN in the sandbox on a mounted root: user, environment and --mount
 * prepared, a shebang heredoc mounted as a script, the output streamed as
 * events and its tail kept for the error.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as cfg from '../image/config.js';
import type { StepMount } from '../sandbox/sandbox.js';
import { RunFailedError } from './errors.js';
import { prepareWorkdir } from './prepare-workdir.js';
import { PIPES_DIR } from './run-heredoc.js';
import { missingMountPoints, prepareRunMounts, removeMountPoints } from './run-mounts.js';
import { fromContentKey, openFrom } from './stage-base.js';
import { mountedTarget } from './write-targets.js';
import type { BuildRun } from './build-run.js';
import type { BuildOptions, ResolvedUser, StageState, Step } from './build-types.js';

/** Runs a RUN step's `args` on the mounted `root` of `state`; throws RunFailedError on a non-zero exit. */
export async function runInSandbox(run: BuildRun, root: string, state: StageState, args: string[], step: Extract<Step, { kind: 'RUN' }>, id: string, script?: { name: string; data: string }): Promise<void> {
  const { opts, signal } = run;
  const cwd = await prepareWorkdir(run, mountedTarget(root), state);
  const user = await run.deps.resolveUser(root, state.config.config?.User ?? '');
  const env = new Map<string, string>();
  for (const [k, v] of state.args) env.set(k, v);
  for (const [k, v] of cfg.envMap(state.config)) env.set(k, v);
  if (!env.has('PATH')) env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  const prepared = await prepareRunMounts(step.mounts, cwd, {
    storeRoot: opts.root,
    contextDir: opts.context.dir,
    secrets: opts.secrets ?? new Map(),
    ssh: opts.ssh ?? new Map(),
    openFrom: (from) => openFrom(run, from),
    fromKey: (from) => fromContentKey(run, from),
    context: opts.context,
  }, signal);
  for (const [k, v] of prepared.env) env.set(k, v);
  let created: string[] = [];
  let scriptDir: string | undefined;
  try {
    if (script) {
      // A shebang heredoc: an executable file outside the root, mounted where BuildKit puts it.
      scriptDir = join(opts.root, 'tmp', `heredoc-${randomBytes(6).toString('hex')}`);
      await mkdir(scriptDir, { recursive: true });
      await writeFile(join(scriptDir, 'script'), script.data, { mode: 0o755 });
      prepared.mounts.push({ type: 'bind', source: join(scriptDir, 'script'), target: `${PIPES_DIR}/${script.name}`, readonly: true });
    }
    created = await missingMountPoints(root, prepared.mounts.map((m) => m.target));
    await runPrepared(run, root, args, step, id, cwd, user, env, prepared.mounts);
  } finally {
    // Mount points made for this step must not show up in its layer.
    await removeMountPoints(root, created);
    await prepared.release();
    if (scriptDir) await rm(scriptDir, { recursive: true, force: true });
  }
}

async function runPrepared(
  run: BuildRun, root: string, args: string[], step: Extract<Step, { kind: 'RUN' }>, id: string,
  cwd: string, user: ResolvedUser, env: Map<string, string>, mounts: StepMount[],
): Promise<void> {
  const { opts, emit, signal } = run;
  const sandbox = await run.deps.sandbox();
  const tail: string[] = [];
  const keep = (s: string) => {
    for (const line of s.split('\n')) if (line !== '') tail.push(line);
    if (tail.length > 20) tail.splice(0, tail.length - 20);
  };
  const network = (step.network as BuildOptions['network'] | undefined) ?? opts.network;
  const res = await sandbox.run(
    {
      rootfs: root,
      args,
      env: [...env].map(([k, v]) => `${k}=${v}`),
      cwd,
      uid: user.uid,
      gid: user.gid,
      additionalGids: user.additionalGids,
      hostname: 'rbuild',
      network: network === 'default' ? 'host' : network,
      mounts,
      etcHosts: '127.0.0.1\tlocalhost rbuild\n::1\tlocalhost ip6-localhost ip6-loopback\n',
      resolvConf: await hostResolvConf(),
    },
    {
      stdout: (b) => { const s = b.toString(); keep(s); emit({ type: 'step-log', step: id, stream: 'stdout', data: s }); },
      stderr: (b) => { const s = b.toString(); keep(s); emit({ type: 'step-log', step: id, stream: 'stderr', data: s }); },
    },
    signal,
  );
  if (res.exitCode !== 0) throw new RunFailedError(step.prependShell ? step.cmd.join(' ') : JSON.stringify(step.cmd), res.exitCode, tail.slice(-5));
}

let resolvConfCache: string | undefined;
async function hostResolvConf(): Promise<string> {
  if (resolvConfCache === undefined) {
    resolvConfCache = await readFile('/etc/resolv.conf', 'utf8').catch(() => 'nameserver 1.1.1.1\n');
    // A loopback resolver of the host (systemd-resolved) is not reachable from a private network namespace.
    if (/^nameserver\s+127\./m.test(resolvConfCache)) resolvConfCache = resolvConfCache.replace(/^nameserver\s+127\.\S+/gm, 'nameserver 10.0.2.3');
  }
  return resolvConfCache;
}
