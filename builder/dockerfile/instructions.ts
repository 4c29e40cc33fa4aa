/**
 * Typed instructions: the parser's untyped nodes become one object per
 * instruction, flags validated (BuildKit's instructions package). Variable
 * expansion is deferred: `expandInstruction` expands exactly the fields
 * BuildKit expands, with the environment the executor has at dispatch time.
 */
import { DockerfileError, suggest, type DockerfileErrorCode } from './errors.js';
import { parseGoDuration } from './go-duration.js';
import {
  instructionNames, type AddInstruction, type CommandLine, type CopyInstruction, type CopyLike, type FromInstruction,
  type InstrLocation, type Instruction, type KeyValue, type RunInstruction, type SourceContent,
} from './instruction-types.js';
import { isValidChmod } from './instruction-validate.js';
import type { Node, ParseResult } from './parser.js';
import { chompHeredocContent, parseHeredoc } from './parser-heredoc.js';
import { parseRunDevice, RunDeviceError, type RunDevice } from './run-device.js';
import { parseRunMount, RunMountError, type RunMount } from './run-mount.js';

export * from './instruction-types.js';
export { isValidChmod } from './instruction-validate.js';
export { parsePortSpec, PortSpecError } from './port-spec.js';
export { expandInstruction, expand, type ExpandOptions } from './instruction-expand.js';

type FlagKind = 'string' | 'bool' | 'array';

/**
 * Which flags each instruction accepts: BuildKit's parse.go and RUN hooks,
 * labs-only flags included (ADD has no --parents there). ARG, STOPSIGNAL and
 * HEALTHCHECK NONE never parse their flags in BuildKit: any are ignored.
 */
const flagSpecs: Record<string, Record<string, FlagKind>> = {
  ADD: { chown: 'string', chmod: 'string', link: 'bool', exclude: 'array', checksum: 'string', 'keep-git-dir': 'bool', unpack: 'bool' },
  COPY: { chown: 'string', chmod: 'string', link: 'bool', exclude: 'array', from: 'string', parents: 'bool' },
  FROM: { platform: 'string' },
  RUN: { mount: 'array', network: 'string', security: 'string', device: 'array' },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

/** Context for typing nodes: the file name and its lines (for columns). */
export interface InstructionContext {
  file: string;
  lines?: readonly string[];
}

class Located {
  constructor(
    readonly node: Node,
    readonly ctx: InstructionContext,
  ) {}

  loc(): InstrLocation {
    return { file: this.ctx.file, line: this.node.startLine, endLine: this.node.endLine, column: this.node.column };
  }

  /** Finds `needle` in the instruction's physical lines for a precise column. */
  find(needle: string): { line: number; column: number } {
    const lines = this.ctx.lines;
    if (lines) {
      for (let l = this.node.startLine; l <= this.node.endLine && l <= lines.length; l++) {
        const i = lines[l - 1]!.indexOf(needle);
        if (i >= 0) return { line: l, column: i + 1 };
      }
    }
    return { line: this.node.startLine, column: this.node.column };
  }

  error(code: DockerfileErrorCode, message: string, at?: string, hint?: string, cause?: unknown): DockerfileError {
    const pos = at ? this.find(at) : { line: this.node.startLine, column: this.node.column };
    return new DockerfileError(code, message, { file: this.ctx.file, line: pos.line, column: pos.column, endLine: this.node.endLine }, {
      ...(hint ? { hint } : {}),
      ...(cause ? { cause } : {}),
    });
  }
}

type FlagValues = Map<string, string[]>;

function parseFlags(at: Located, name: string, spec: Record<string, FlagKind>): FlagValues {
  const out: FlagValues = new Map();
  for (const raw of at.node.flags) {
    if (!raw.startsWith('--')) throw at.error('DOCKERFILE_FLAG', `arg should start with -- : ${raw}`, raw);
    if (raw === '--') break; // BuildKit's BFlags stops at `--`, ignoring what follows
    const body = raw.slice(2);
    const eq = body.indexOf('=');
    const key = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    const kind = spec[key];
    if (!kind) {
      const owners = Object.entries(flagSpecs).filter(([, s]) => key in s).map(([k]) => k);
      const hint = owners.length > 0
        ? `--${key} is a flag of ${owners.join(', ')}, not of ${name}`
        : (() => {
            const near = suggest(key, Object.keys(spec));
            return near ? `did you mean --${near}?` : undefined;
          })();
      throw at.error('DOCKERFILE_FLAG', `unknown flag: ${key}`, `--${key}`, hint);
    }
    if (kind !== 'array' && out.has(key)) throw at.error('DOCKERFILE_FLAG', `duplicate flag specified: ${key}`, `--${key}`);
    let v: string;
    if (kind === 'bool') {
      if (value === undefined) v = 'true';
      else if (['true', 'false'].includes(value.toLowerCase())) v = value.toLowerCase();
      else throw at.error('DOCKERFILE_FLAG', `expecting boolean value for flag ${key}, not: ${value}`, `--${key}`);
    } else {
      if (value === undefined) throw at.error('DOCKERFILE_FLAG', `missing a value on flag: ${key}`, `--${key}`);
      v = value;
    }
    out.set(key, [...(out.get(key) ?? []), v]);
  }
  return out;
}

const str = (f: FlagValues, k: string): string | undefined => f.get(k)?.[0];
const bool = (f: FlagValues, k: string): boolean => f.get(k)?.[0] === 'true';

const hasVar = (s: string): boolean => s.includes('$');

function checkChmod(at: Located, mode: string | undefined): void {
  if (mode === undefined || hasVar(mode)) return; // checked again after expansion
  if (!isValidChmod(mode)) {
    throw at.error('DOCKERFILE_FLAG', `invalid chmod parameter: ${mode}`, '--chmod', 'use an octal mode like 0755 or a symbolic one like u+x,go-w');
  }
}

function exactlyOne(at: Located, name: string): string {
  if (at.node.args.length !== 1) throw at.error('DOCKERFILE_ARGUMENTS', `${name} requires exactly one argument`);
  return at.node.args[0]!;
}

function kvps(at: Located, name: string): KeyValue[] {
  const a = at.node.args;
  if (a.length === 0) throw at.error('DOCKERFILE_ARGUMENTS', `${name} requires at least one argument`);
  if (a.length % 3 !== 0) throw at.error('DOCKERFILE_ARGUMENTS', `Bad input to ${name}, too many arguments`);
  const out: KeyValue[] = [];
  for (let i = 0; i < a.length; i += 3) {
    if (a[i] === '') throw at.error('DOCKERFILE_ARGUMENTS', `${name} names can not be blank`);
    out.push({ key: a[i]!, value: a[i + 1]!, noDelim: a[i + 2] === '' });
  }
  return out;
}

function commandLine(at: Located): CommandLine {
  const n = at.node;
  return {
    cmd: n.json ? [...n.args] : n.args.length > 0 ? [n.args.join(' ')] : [],
    prependShell: !n.json,
    files: n.heredocs.map((h) => ({ name: h.name, data: h.content, chomp: h.chomp, expand: h.expand })),
  };
}

function copyLike(at: Located, name: 'COPY' | 'ADD', f: FlagValues): CopyLike {
  const args = at.node.args;
  if (args.length < 2) throw at.error('DOCKERFILE_ARGUMENTS', `${name} requires at least two arguments, but only one was provided. Destination could not be determined`);
  const dest = args[args.length - 1]!;
  if (!at.node.json && parseHeredoc(dest)) throw at.error('DOCKERFILE_ARGUMENTS', `${name} cannot accept a heredoc as a destination`);
  const docs = new Map(at.node.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const contents: SourceContent[] = [];
  for (const src of args.slice(0, -1)) {
    const h = at.node.json ? undefined : parseHeredoc(src);
    if (h) {
      let data = docs.get(h.name)?.content ?? '';
      if (h.chomp) data = chompHeredocContent(data);
      contents.push({ path: h.name, data, expand: h.expand });
    } else sources.push(src);
  }
  const chmod = str(f, 'chmod');
  checkChmod(at, chmod);
  const out: CopyLike = { sources, contents, dest, link: bool(f, 'link'), exclude: f.get('exclude') ?? [] };
  const chown = str(f, 'chown');
  if (chown !== undefined) out.chown = chown;
  if (chmod !== undefined) out.chmod = chmod;
  return out;
}

function duration(at: Located, f: FlagValues, key: string): number {
  const v = str(f, key);
  if (v === undefined || v === '') return 0;
  let ns: number;
  try {
    ns = parseGoDuration(v);
  } catch (err) {
    throw at.error('DOCKERFILE_FLAG', (err as Error).message, `--${key}`);
  }
  if (ns !== 0 && ns < 1e6) throw at.error('DOCKERFILE_FLAG', `Interval "${key}" cannot be less than 1ms`, `--${key}`);
  return ns;
}

function mounts(at: Located, specs: string[]): RunMount[] {
  return specs.map((s, i) => {
    try {
      return parseRunMount(s, i);
    } catch (err) {
      if (err instanceof RunMountError) throw at.error('DOCKERFILE_FLAG', err.message, '--mount', undefined, err);
      throw err;
    }
  });
}

function devices(at: Located, specs: string[]): RunDevice[] {
  return specs.map((s) => {
    try {
      return parseRunDevice(s);
    } catch (err) {
      if (err instanceof RunDeviceError) throw at.error('DOCKERFILE_FLAG', err.message, '--device', undefined, err);
      throw err;
    }
  });
}

/** Types one parsed node. Throws DockerfileError with the node's location. */
export function toInstruction(node: Node, ctx: InstructionContext): Instruction {
  const at = new Located(node, ctx);
  const name = node.value.toUpperCase();
  const base = { loc: at.loc(), original: node.original };
  const spec = flagSpecs[name] ?? {};
  const needFlags = (): FlagValues => parseFlags(at, name, spec);
  switch (name) {
    case 'FROM': {
      const f = needFlags();
      const a = node.args;
      let stageName: string | undefined;
      if (a.length === 3 && a[1]!.toLowerCase() === 'as') {
        stageName = a[2]!.toLowerCase();
        if (!/^[a-z][a-z0-9-_.]*$/.test(stageName)) {
          throw at.error('DOCKERFILE_ARGUMENTS', `invalid name for build stage: "${a[2]}", name can't start with a number or contain symbols`, a[2]);
        }
      } else if (a.length !== 1) {
        throw at.error('DOCKERFILE_ARGUMENTS', 'FROM requires either one or three arguments', undefined, 'FROM <image> [AS <name>]');
      }
      const r: FromInstruction = { kind: 'FROM', ...base, image: a[0]! };
      if (stageName) r.stageName = stageName;
      const platform = str(f, 'platform');
      if (platform) r.platform = platform;
      return r;
    }
    case 'RUN': {
      const f = needFlags();
      // No arguments is not an error in BuildKit: the shell form runs `sh -c ""`.
      const cl = commandLine(at);
      const mountSpecs = f.get('mount') ?? [];
      const r: RunInstruction = {
        kind: 'RUN', ...base, ...cl, mountSpecs, mounts: mounts(at, mountSpecs.filter((s) => !hasVar(s))), devices: devices(at, f.get('device') ?? []),
      };
      const network = str(f, 'network');
      if (network !== undefined) {
        if (network !== 'default' && network !== 'none' && network !== 'host') {
          throw at.error('DOCKERFILE_FLAG', `unsupported network mode "${network}"`, '--network', 'use default, none or host');
        }
        r.network = network;
      }
      const security = str(f, 'security');
      if (security !== undefined) {
        if (security !== 'sandbox' && security !== 'insecure') {
          throw at.error('DOCKERFILE_FLAG', `unsupported security mode "${security}"`, '--security', 'use sandbox or insecure');
        }
        r.security = security;
      }
      return r;
    }
    case 'CMD':
      needFlags();
      return { kind: 'CMD', ...base, ...commandLine(at) };
    case 'ENTRYPOINT':
      needFlags();
      return { kind: 'ENTRYPOINT', ...base, ...commandLine(at) };
    case 'SHELL': {
      needFlags();
      if (!node.json) throw at.error('DOCKERFILE_ARGUMENTS', 'SHELL requires the arguments to be in JSON form', undefined, 'SHELL ["/bin/bash", "-c"]');
      if (node.args.length === 0) throw at.error('DOCKERFILE_ARGUMENTS', 'SHELL requires at least one argument');
      return { kind: 'SHELL', ...base, shell: [...node.args] };
    }
    case 'ENV':
      needFlags();
      return { kind: 'ENV', ...base, env: kvps(at, 'ENV') };
    case 'LABEL':
      needFlags();
      return { kind: 'LABEL', ...base, labels: kvps(at, 'LABEL') };
    case 'ARG': {
      if (node.args.length === 0) throw at.error('DOCKERFILE_ARGUMENTS', 'ARG requires at least one argument');
      const args = node.args.map((w) => {
        const eq = w.indexOf('=');
        if (eq < 0) return { key: w };
        if (eq === 0) throw at.error('DOCKERFILE_ARGUMENTS', 'ARG names can not be blank');
        return { key: w.slice(0, eq), value: w.slice(eq + 1) };
      });
      return { kind: 'ARG', ...base, args };
    }
    case 'EXPOSE': {
      needFlags();
      if (node.args.length === 0) throw at.error('DOCKERFILE_ARGUMENTS', 'EXPOSE requires at least one argument');
      // Port specs are checked at dispatch (expandInstruction), as BuildKit does:
      // a bad EXPOSE in a stage the target does not need is not an error.
      return { kind: 'EXPOSE', ...base, ports: [...node.args] };
    }
    case 'VOLUME': {
      needFlags();
      if (node.args.length === 0) throw at.error('DOCKERFILE_ARGUMENTS', 'VOLUME requires at least one argument');
      for (const v of node.args) if (v.trim() === '') throw at.error('DOCKERFILE_ARGUMENTS', 'VOLUME specified can not be an empty string');
      return { kind: 'VOLUME', ...base, volumes: [...node.args] };
    }
    case 'USER':
      needFlags();
      return { kind: 'USER', ...base, user: exactlyOne(at, 'USER') };
    case 'WORKDIR':
      needFlags();
      return { kind: 'WORKDIR', ...base, path: exactlyOne(at, 'WORKDIR') };
    case 'COPY': {
      const f = needFlags();
      const r: CopyInstruction = { kind: 'COPY', ...base, ...copyLike(at, 'COPY', f), parents: bool(f, 'parents') };
      const from = str(f, 'from');
      if (from !== undefined) r.from = from;
      return r;
    }
    case 'ADD': {
      const f = needFlags();
      const r: AddInstruction = { kind: 'ADD', ...base, ...copyLike(at, 'ADD', f), keepGitDir: bool(f, 'keep-git-dir') };
      const checksum = str(f, 'checksum');
      if (checksum !== undefined) r.checksum = checksum;
      if (f.has('unpack')) r.unpack = bool(f, 'unpack');
      return r;
    }
    case 'HEALTHCHECK': {
      if (node.args.length === 0) throw at.error('DOCKERFILE_ARGUMENTS', 'HEALTHCHECK requires at least one argument', undefined, 'HEALTHCHECK [--interval=30s ...] CMD <command>, or HEALTHCHECK NONE');
      const typ = node.args[0]!.toUpperCase();
      const rest = node.args.slice(1);
      const empty = { interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
      if (typ === 'NONE') {
        if (rest.length !== 0) throw at.error('DOCKERFILE_ARGUMENTS', 'HEALTHCHECK NONE takes no arguments');
        return { kind: 'HEALTHCHECK', ...base, test: ['NONE'], ...empty };
      }
      const f = needFlags();
      if (typ !== 'CMD') throw at.error('DOCKERFILE_ARGUMENTS', `Unknown type "${typ}" in HEALTHCHECK (try CMD)`, node.args[0]);
      const cmd = node.json ? rest : rest.length > 0 ? [rest.join(' ')] : [];
      if (cmd.length === 0) throw at.error('DOCKERFILE_ARGUMENTS', 'Missing command after HEALTHCHECK CMD');
      let retries = 0;
      const r = str(f, 'retries');
      if (r !== undefined && r !== '') {
        if (!/^[-+]?\d+$/.test(r)) throw at.error('DOCKERFILE_FLAG', `strconv.ParseInt: parsing "${r}": invalid syntax`, '--retries');
        retries = Number(r);
        if (retries < 0) throw at.error('DOCKERFILE_FLAG', `--retries cannot be negative (${retries})`, '--retries');
      }
      return {
        kind: 'HEALTHCHECK', ...base, test: [node.json ? 'CMD' : 'CMD-SHELL', ...cmd],
        interval: duration(at, f, 'interval'), timeout: duration(at, f, 'timeout'),
        startPeriod: duration(at, f, 'start-period'), startInterval: duration(at, f, 'start-interval'), retries,
      };
    }
    case 'ONBUILD': {
      needFlags();
      if (!node.sub) throw at.error('DOCKERFILE_ARGUMENTS', 'ONBUILD requires at least one argument');
      const trigger = node.sub.value.toUpperCase();
      if (trigger === 'ONBUILD') throw at.error('DOCKERFILE_ARGUMENTS', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'MAINTAINER' || trigger === 'FROM') throw at.error('DOCKERFILE_ARGUMENTS', `${trigger} isn't allowed as an ONBUILD trigger`);
      let expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
      for (const h of node.heredocs) expression += '\n' + h.content + h.name;
      return { kind: 'ONBUILD', ...base, expression };
    }
    case 'STOPSIGNAL':
      return { kind: 'STOPSIGNAL', ...base, signal: exactlyOne(at, 'STOPSIGNAL') };
    case 'MAINTAINER':
      needFlags();
      return { kind: 'MAINTAINER', ...base, maintainer: exactlyOne(at, 'MAINTAINER') };
  }
  const word = node.original.trim().split(/\s+/)[0] ?? node.value;
  const near = suggest(word, instructionNames);
  throw at.error('DOCKERFILE_UNKNOWN_INSTRUCTION', `unknown instruction: ${word}`, undefined, near ? `did you mean ${near}?` : undefined);
}

/** Types every node of a parse result (no stage grouping). */
export function toInstructions(result: ParseResult): Instruction[] {
  const ctx = { file: result.file, lines: result.lines };
  return result.nodes.map((n) => toInstruction(n, ctx));
}
