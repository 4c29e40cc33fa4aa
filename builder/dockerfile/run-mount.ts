/** RUN --mount=... specifications, parsed and checked as BuildKit does. */

/** One RUN mount. Paths and ids are as written (after variable expansion when expanded). */
export type RunMount =
  | { type: 'bind'; target: string; source?: string; from?: string; readonly: boolean }
  | {
      type: 'cache';
      target: string;
      id: string;
      sharing: 'shared' | 'private' | 'locked';
      from?: string;
      source?: string;
      readonly: boolean;
      mode?: number;
      uid?: number;
      gid?: number;
    }
  | { type: 'tmpfs'; target: string; size?: number }
  | { type: 'secret'; id: string; target?: string; env?: string; required: boolean; mode: number; uid: number; gid: number }
  | { type: 'ssh'; id: string; target: string; required: boolean; mode: number; uid: number; gid: number };

/** A malformed --mount value. */
export class RunMountError extends Error {
  readonly code = 'DOCKERFILE_FLAG';
}

/** Splits one CSV record as Go's encoding/csv does (quotes "..." with "" for a quote). */
export function splitCsv(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= value.length) throw new RunMountError(`extraneous or missing " in quoted-field: ${value}`);
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += value[i++];
      }
      if (i < value.length && value[i] !== ',') throw new RunMountError(`extraneous or missing " in quoted-field: ${value}`);
    } else {
      while (i < value.length && value[i] !== ',') {
        if (value[i] === '"') throw new RunMountError(`bare " in non-quoted-field: ${value}`);
        field += value[i++];
      }
    }
    out.push(field);
    if (i >= value.length) break;
    i++; // skip the comma
  }
  return out;
}

function parseBool(key: string, v: string | undefined): boolean {
  if (v === undefined) return true;
  const l = v.toLowerCase();
  if (['1', 't', 'true'].includes(l)) return true;
  if (['0', 'f', 'false'].includes(l)) return false;
  throw new RunMountError(`invalid value for ${key}: ${v}`);
}

function parseUint(key: string, v: string, base: 8 | 10): number {
  const re = base === 8 ? /^[0-7]+$/ : /^\d+$/;
  if (!re.test(v)) throw new RunMountError(`invalid value for ${key}: ${v}`);
  return Number.parseInt(v, base);
}

/** Parses a size like `64m`, `1g`, `1024` (bytes), as go-units RAMInBytes. */
function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(v);
  if (!m) throw new RunMountError(`invalid size: ${v}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[m[2]!.toLowerCase() as '' | 'k'];
  return Math.floor(Number(m[1]) * mult);
}

const allowedKeys: Record<string, Set<string>> = {
  bind: new Set(['type', 'target', 'source', 'from', 'readonly', 'readwrite']),
  cache: new Set(['type', 'target', 'source', 'from', 'readonly', 'readwrite', 'id', 'sharing', 'mode', 'uid', 'gid']),
  tmpfs: new Set(['type', 'target', 'size']),
  secret: new Set(['type', 'target', 'id', 'env', 'required', 'mode', 'uid', 'gid']),
  ssh: new Set(['type', 'target', 'id', 'required', 'mode', 'uid', 'gid']),
};

const aliases: Record<string, string> = {
  src: 'source', dst: 'target', destination: 'target', ro: 'readonly', rw: 'readwrite', readwrite: 'readwrite',
};

/**
 * Parses one `--mount` value. `expand` (if given) is applied to every value
 * except `type`, as BuildKit expands mount options with the build's variables.
 */
export function parseRunMount(spec: string, index: number, expand?: (word: string) => string): RunMount {
  const fields = splitCsv(spec);
  const kv = new Map<string, string | undefined>();
  let type = 'bind';
  for (const field of fields) {
    const eq = field.indexOf('=');
    const rawKey = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    let value = eq < 0 ? undefined : field.slice(eq + 1);
    const key = aliases[rawKey] ?? rawKey;
    if (key === 'type') {
      if (value === undefined) throw new RunMountError(`invalid mount type: ${field}`);
      if (!(value in allowedKeys)) throw new RunMountError(`unsupported mount type "${value}"`);
      type = value;
      continue;
    }
    if (value !== undefined && expand) value = expand(value);
    kv.set(key, value);
  }
  const allowed = allowedKeys[type]!;
  for (const k of kv.keys()) {
    if (!allowed.has(k)) throw new RunMountError(`unexpected key '${k}' in '${spec}' (mount type ${type})`);
  }
  const str = (k: string): string | undefined => {
    const v = kv.get(k);
    if (kv.has(k) && v === undefined) throw new RunMountError(`invalid mount option ${k}: a value is required`);
    return v;
  };
  const target = str('target');
  let readonly: boolean | undefined;
  if (kv.has('readonly')) readonly = parseBool('readonly', kv.get('readonly'));
  if (kv.has('readwrite')) readonly = !parseBool('readwrite', kv.get('readwrite'));
  const num = (k: string, base: 8 | 10): number | undefined => (kv.has(k) ? parseUint(k, str(k)!, base) : undefined);
  const opt = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

  switch (type) {
    case 'bind':
      if (!target) throw new RunMountError('mount type bind requires a target (target=/path)');
      return opt({ type: 'bind', target, source: str('source'), from: str('from'), readonly: readonly ?? true });
    case 'cache': {
      if (!target) throw new RunMountError('mount type cache requires a target (target=/path)');
      const sharing = str('sharing') ?? 'shared';
      if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') {
        throw new RunMountError(`unsupported sharing value "${sharing}"`);
      }
      return opt({
        type: 'cache', target, id: str('id') || target, sharing, from: str('from'), source: str('source'),
        readonly: readonly ?? false, mode: num('mode', 8), uid: num('uid', 10), gid: num('gid', 10),
      });
    }
    case 'tmpfs': {
      if (!target) throw new RunMountError('mount type tmpfs requires a target (target=/path)');
      const size = kv.has('size') ? parseSize(str('size')!) : undefined;
      return opt({ type: 'tmpfs', target, size });
    }
    case 'secret': {
      const env = str('env');
      let id = str('id');
      if (!id) {
        if (!target) {
          if (!env) throw new RunMountError('secret mount requires an id, a target or an env');
          id = env;
        } else id = target.split('/').filter(Boolean).pop() ?? '';
      }
      const tgt = target ?? (env ? undefined : `/run/secrets/${id}`);
      return opt({
        type: 'secret', id, target: tgt, env, required: kv.has('required') ? parseBool('required', kv.get('required')) : false,
        mode: num('mode', 8) ?? 0o400, uid: num('uid', 10) ?? 0, gid: num('gid', 10) ?? 0,
      });
    }
    default: {
      // ssh
      return {
        type: 'ssh', id: str('id') || 'default', target: target ?? `/run/buildkit/ssh_agent.${index}`,
        required: kv.has('required') ? parseBool('required', kv.get('required')) : false,
        mode: num('mode', 8) ?? 0o600, uid: num('uid', 10) ?? 0, gid: num('gid', 10) ?? 0,
      };
    }
  }
}
