/**
 * The wire format between HelperSandbox and `rbuild-helper run` (pure; see native/README.md):
 * the spec is NUL-terminated `key=value` records on --spec-fd, the helper answers with
 * tab-separated status lines on --status-fd, rbuild sends `go` / `kill` lines on --control-fd.
 */
import { SandboxError } from './errors.js';
import { HELPER_PROTOCOL } from './native-helper.js';
import type { RunSpec } from './sandbox.js';

/** Host files bind-mounted over /etc/hosts, /etc/resolv.conf and /etc/hostname. */
export interface EtcFiles {
  hosts?: string;
  resolv?: string;
  hostname?: string;
}

/** The network the helper sets up: `private` is a network namespace rbuild attaches slirp4netns to. */
export type HelperNetwork = 'host' | 'none' | 'private';

const RUN_SPEC_KEYS = new Set([
  'rootfs', 'args', 'env', 'cwd', 'uid', 'gid', 'additionalGids', 'hostname', 'network', 'mounts', 'etcHosts', 'resolvConf',
]);

function bad(msg: string): never {
  throw new SandboxError('ESPEC', `invalid run spec: ${msg}`);
}

function text(name: string, v: unknown): string {
  if (typeof v !== 'string') bad(`${name} must be a string`);
  if (v.includes('\0')) bad(`${name} contains a NUL byte`);
  return v;
}

function absPath(name: string, v: unknown): string {
  const s = text(name, v);
  if (!s.startsWith('/')) bad(`${name} must be an absolute path: ${s}`);
  if (s.includes('\n')) bad(`${name} contains a newline`);
  return s;
}

function id(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xfffffffe) bad(`${name} must be an id in 0..4294967294`);
  return v;
}

/** Validates a RunSpec (unknown keys rejected, as esbuild does) and throws SandboxError('ESPEC') on the first problem. */
export function validateRunSpec(spec: RunSpec): void {
  for (const k of Object.keys(spec)) if (!RUN_SPEC_KEYS.has(k)) bad(`unknown key ${k}`);
  absPath('rootfs', spec.rootfs);
  if (!Array.isArray(spec.args) || spec.args.length === 0) bad('args must be a non-empty array');
  spec.args.forEach((a, i) => text(`args[${i}]`, a));
  if (!Array.isArray(spec.env)) bad('env must be an array');
  spec.env.forEach((e, i) => {
    if (!text(`env[${i}]`, e).includes('=')) bad(`env[${i}] is not KEY=value: ${e}`);
  });
  absPath('cwd', spec.cwd);
  id('uid', spec.uid);
  id('gid', spec.gid);
  if (!Array.isArray(spec.additionalGids)) bad('additionalGids must be an array');
  spec.additionalGids.forEach((g, i) => id(`additionalGids[${i}]`, g));
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})?$/.test(text('hostname', spec.hostname))) bad(`hostname is not a valid host name: ${spec.hostname}`);
  if (!['host', 'none', 'private'].includes(spec.network)) bad(`network must be host, none or private: ${String(spec.network)}`);
  if (!Array.isArray(spec.mounts)) bad('mounts must be an array');
  spec.mounts.forEach((m, i) => {
    absPath(`mounts[${i}].target`, m.target);
    if (m.type === 'bind') {
      absPath(`mounts[${i}].source`, m.source);
      if (typeof m.readonly !== 'boolean') bad(`mounts[${i}].readonly must be a boolean`);
    } else if (m.type === 'tmpfs') {
      if (m.sizeBytes !== undefined && (!Number.isSafeInteger(m.sizeBytes) || m.sizeBytes < 0)) bad(`mounts[${i}].sizeBytes must be a size`);
    } else bad(`mounts[${i}].type must be bind or tmpfs`);
  });
  if (spec.etcHosts !== undefined) text('etcHosts', spec.etcHosts);
  if (spec.resolvConf !== undefined) text('resolvConf', spec.resolvConf);
}

/** Encodes a validated spec for `rbuild-helper run --spec-fd`. */
export function encodeRunSpec(spec: RunSpec, network: HelperNetwork, files: EtcFiles): Buffer {
  const recs: string[] = [`version=${HELPER_PROTOCOL}`, `rootfs=${spec.rootfs}`];
  for (const a of spec.args) recs.push(`arg=${a}`);
  for (const e of spec.env) recs.push(`env=${e}`);
  recs.push(`cwd=${spec.cwd}`, `uid=${spec.uid}`, `gid=${spec.gid}`);
  for (const g of spec.additionalGids) recs.push(`group=${g}`);
  recs.push(`hostname=${spec.hostname}`, `network=${network}`);
  if (files.hosts) recs.push(`hosts-file=${files.hosts}`);
  if (files.resolv) recs.push(`resolv-file=${files.resolv}`);
  if (files.hostname) recs.push(`hostname-file=${files.hostname}`);
  for (const m of spec.mounts) {
    if (m.type === 'bind') recs.push(`mount=${m.readonly ? 'bind-ro' : 'bind-rw'}`, `mount.source=${m.source}`);
    else {
      recs.push('mount=tmpfs');
      if (m.sizeBytes) recs.push(`mount.size=${m.sizeBytes}`);
    }
    recs.push(`mount.target=${m.target}`);
  }
  return Buffer.from(recs.map((r) => `${r}\0`).join(''), 'utf8');
}

/** One line the helper writes on --status-fd. */
export type StatusEvent =
  | { type: 'pid'; pid: number }
  | { type: 'exit'; code: number }
  | { type: 'signal'; signal: number }
  | { type: 'error'; syscall: string; errno?: string; hint: string };

/** Parses one status line (without its newline); unknown lines give undefined so newer helpers can add some. */
export function parseStatusLine(line: string): StatusEvent | undefined {
  const f = line.split('\t');
  switch (f[0]) {
    case 'pid':
      return { type: 'pid', pid: Number(f[1]) };
    case 'exit':
      return { type: 'exit', code: Number(f[1]) };
    case 'signal':
      return { type: 'signal', signal: Number(f[1]) };
    case 'error': {
      const ev: StatusEvent = { type: 'error', syscall: f[1] ?? '?', hint: f.slice(3).join('\t') };
      if (f[2] && f[2] !== '-') ev.errno = f[2];
      return ev;
    }
    default:
      return undefined;
  }
}

/** The one clear message for a helper error: `rbuild-helper: pivot_root: EPERM: <what to check>`. */
export function helperErrorFromStatus(ev: Extract<StatusEvent, { type: 'error' }>): SandboxError {
  const msg = `running the step failed: ${ev.syscall}${ev.errno ? `: ${ev.errno}` : ''}: ${ev.hint}`;
  const opts: { syscall: string; errno?: string; hint: string } = { syscall: ev.syscall, hint: ev.hint };
  if (ev.errno) opts.errno = ev.errno;
  return new SandboxError('EHELPER', msg, opts);
}
