/** `--secret` and `--ssh` values of docker build (buildx syntax), parsed without touching the files they name. */
import { resolve } from 'node:path';
import { UsageError } from './errors.js';

/** Parses `--secret id=X[,src=FILE|,env=VAR][,type=file|env]`; a bare id reads the env var of that name. */
export function parseSecretFlags(values: string[], cwd = process.cwd()): Map<string, { file?: string; env?: string }> {
  const out = new Map<string, { file?: string; env?: string }>();
  for (const v of values) {
    const kv = new Map<string, string>();
    for (const part of v.split(',')) {
      const i = part.indexOf('=');
      if (i < 0) throw new UsageError(`invalid --secret ${JSON.stringify(v)}`, 'use --secret id=NAME,src=FILE or --secret id=NAME,env=VAR');
      kv.set(part.slice(0, i).toLowerCase(), part.slice(i + 1));
    }
    const id = kv.get('id');
    if (!id) throw new UsageError(`--secret ${JSON.stringify(v)} has no id`, 'use --secret id=NAME,src=FILE');
    for (const k of kv.keys()) if (!['id', 'src', 'source', 'env', 'type'].includes(k)) throw new UsageError(`unknown key ${JSON.stringify(k)} in --secret ${JSON.stringify(v)}`);
    const src = kv.get('src') ?? kv.get('source');
    const type = kv.get('type');
    if (type === 'env' || kv.has('env')) out.set(id, { env: kv.get('env') ?? src ?? id });
    else if (src) out.set(id, { file: resolve(cwd, src) });
    else out.set(id, { env: id });
  }
  return out;
}

/** Parses `--ssh default` / `--ssh ID=SOCKET`: the agent socket per id ($SSH_AUTH_SOCK for none given). */
export function parseSshFlags(values: string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const i = v.indexOf('=');
    const id = i < 0 ? v : v.slice(0, i);
    const sock = i < 0 ? env.SSH_AUTH_SOCK : v.slice(i + 1);
    if (!id) throw new UsageError(`invalid --ssh ${JSON.stringify(v)}`, 'use --ssh default or --ssh ID=SOCKET');
    if (!sock) throw new UsageError(`--ssh ${id}: SSH_AUTH_SOCK is not set`, 'start an agent (eval $(ssh-agent)) or give the socket: --ssh default=/path/to/socket');
    out.set(id, resolve(cwd, sock));
  }
  return out;
}
