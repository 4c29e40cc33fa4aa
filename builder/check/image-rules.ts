/**
 * The rules judged on a built image: its config plus the facts the walker
 * gathered from the layers. Pure: the same inputs give the same findings.
 */
import type { ImageConfig } from '../../registry/oci/types.js';
import { lastInstruction, layerLines, type DockerfileSource } from './source-map.js';
import { secretVariable } from './patterns.js';
import { RULES, type RuleId } from './rules.js';
import type { FileFact, Finding, FindingLocation, ImageFacts, Severity } from './types.js';
import { resolveUser, type ResolvedUser } from './users.js';
import { formatBytes as formatSize } from '../cli/progress-format.js';

/** What the image rules look at. */
export interface ImageRuleInput {
  config: ImageConfig;
  facts: ImageFacts;
  dockerfile?: DockerfileSource;
}

/** How many findings of one rule are listed one by one before the rest are summed up in one. */
export const MAX_LISTED = 10;

/** Runs every image rule. */
export function checkImageFacts(input: ImageRuleInput): Finding[] {
  const ctx = new Context(input);
  return [
    ...userRules(ctx),
    ...fileModeRules(ctx),
    ...portRule(ctx),
    ...privilegeRules(ctx),
    ...secretRules(ctx),
    ...addUrlRule(ctx),
    ...commandRules(ctx),
    ...cacheRule(ctx),
  ];
}

/** Locations and finding construction shared by the rules. */
class Context {
  readonly lines: Map<number, number>;
  constructor(readonly input: ImageRuleInput) {
    this.lines = input.dockerfile ? layerLines(input.dockerfile, input.facts.layers) : new Map();
  }

  get config() {
    return this.input.config.config ?? {};
  }

  /** A finding for a rule, with the rule's severity unless told. */
  finding(id: RuleId, message: string, location: FindingLocation, extra: Partial<Finding> = {}): Finding {
    const rule = RULES[id];
    return { ruleId: id, severity: rule.severity, message, fix: rule.fix, location, ...extra };
  }

  /** Location of a layer (and its Dockerfile line when known). */
  layerLoc(layer: number, path?: string): FindingLocation {
    const l = this.input.facts.layers[layer];
    const loc: FindingLocation = { layer, ...(l ? { layerDigest: l.digest } : {}), ...(path ? { path } : {}) };
    const line = this.lines.get(layer);
    if (this.input.dockerfile) {
      loc.file = this.input.dockerfile.file;
      loc.line = line ?? this.input.dockerfile.final.from.loc.line;
    }
    return loc;
  }

  /** Location of the last instruction of a kind in the Dockerfile (FROM of the final stage when none). */
  instrLoc(kind: 'USER' | 'EXPOSE' | 'WORKDIR' | 'ENV' | 'CMD' | 'ENTRYPOINT' | 'HEALTHCHECK'): FindingLocation {
    const df = this.input.dockerfile;
    if (!df) return {};
    const i = lastInstruction(df, kind);
    return { file: df.file, line: i?.loc.line ?? df.final.from.loc.line };
  }

  isBase(layer: number): boolean {
    return this.input.facts.layers[layer]?.base ?? false;
  }

  layerName(layer: number): string {
    const l = this.input.facts.layers[layer];
    const n = this.input.facts.layers.length;
    return `layer ${layer + 1}/${n}${l ? ` (${l.digest.slice(7, 19)})` : ''}${l?.base ? ' of the base image' : ''}`;
  }
}

function userRules(ctx: Context): Finding[] {
  const { facts } = ctx.input;
  const userSpec = ctx.config.User ?? '';
  const user = resolveUser(userSpec, facts.passwd, facts.group);
  const out: Finding[] = [];
  const loc = ctx.instrLoc('USER');
  if (user.missing) {
    out.push(ctx.finding('RB002', `USER ${userSpec}: ${user.missing} not found in the image's ${user.missing === 'group' ? '/etc/group' : '/etc/passwd'}`, loc));
  } else if (user.uid === 0) {
    const why = userSpec === '' ? 'USER is not set' : /^(0|root)(:|$)/.test(userSpec) ? `USER is ${userSpec}` : `USER ${userSpec} resolves to uid 0`;
    out.push(ctx.finding('RB001', `the image runs as root: ${why}`, loc));
  }
  const workdir = ctx.config.WorkingDir;
  if (workdir && workdir !== '/' && !user.missing && user.uid !== 0 && user.uid !== undefined) {
    const wloc = { ...ctx.instrLoc('WORKDIR'), path: workdir };
    const dir = facts.watched.get(workdir);
    if (!dir) out.push(ctx.finding('RB003', `WORKDIR ${workdir} is not in the image: the runtime creates it owned by root, not writable for uid ${user.uid}`, wloc));
    else if (!writable(dir, user)) {
      out.push(ctx.finding('RB003', `WORKDIR ${workdir} is owned by ${dir.uid}:${dir.gid} mode ${octal(dir.mode)}: not writable for USER ${userSpec} (uid ${user.uid})`, { ...ctx.layerLoc(dir.layer, workdir), ...(wloc.line ? { line: wloc.line, file: wloc.file! } : {}) }));
    }
  }
  return out;
}

/** Whether a user can write a file or directory, by owner, group and other bits. */
export function writable(f: Pick<FileFact, 'uid' | 'gid' | 'mode'>, user: Pick<ResolvedUser, 'uid' | 'gid' | 'groups'>): boolean {
  if (user.uid === 0) return true;
  if (f.uid === user.uid) return (f.mode & 0o200) !== 0;
  if (f.gid === user.gid || (user.groups ?? []).includes(f.gid)) return (f.mode & 0o020) !== 0;
  return (f.mode & 0o002) !== 0;
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** Lists up to MAX_LISTED findings, then one that sums up the rest. */
function capped(all: Finding[], more: (n: number) => Finding): Finding[] {
  if (all.length <= MAX_LISTED) return all;
  return [...all.slice(0, MAX_LISTED), more(all.length - MAX_LISTED)];
}

function fileModeRules(ctx: Context): Finding[] {
  const ww = ctx.input.facts.worldWritable;
  const files = ww.filter((f) => f.type === 'file' && !ctx.isBase(f.layer));
  const dirs = ww.filter((f) => f.type === 'dir');
  const fileFindings = files.map((f) =>
    ctx.finding('RB004', `${f.path} is world-writable (mode ${octal(f.mode)}), added in ${ctx.layerName(f.layer)}`, ctx.layerLoc(f.layer, f.path)),
  );
  const dirFindings = dirs.map((f) =>
    ctx.finding('RB005', `${f.path}/ is world-writable without the sticky bit (mode ${octal(f.mode)}), in ${ctx.layerName(f.layer)}`, ctx.layerLoc(f.layer, f.path), sev(ctx, f.layer, 'warn')),
  );
  return [
    ...capped(fileFindings, (n) => ctx.finding('RB004', `and ${n} more world-writable files`, ctx.layerLoc(files[MAX_LISTED]!.layer))),
    ...capped(dirFindings, (n) => ctx.finding('RB005', `and ${n} more world-writable directories without the sticky bit`, ctx.layerLoc(dirs[MAX_LISTED]!.layer))),
  ];
}

/** A finding from a base layer is reported one level lower: the image's author did not add it. */
function sev(ctx: Context, layer: number, own: Severity): Partial<Finding> {
  if (!ctx.isBase(layer)) return { severity: own };
  return { severity: own === 'error' ? 'warn' : 'info', fromBase: true };
}

function portRule(ctx: Context): Finding[] {
  const out: Finding[] = [];
  for (const key of Object.keys(ctx.config.ExposedPorts ?? {})) {
    const port = Number(key.split('/')[0]);
    if (Number.isInteger(port) && port < 1024) out.push(ctx.finding('RB006', `EXPOSE ${key}: port ${port} is below 1024`, ctx.instrLoc('EXPOSE')));
  }
  return out;
}

function privilegeRules(ctx: Context): Finding[] {
  const { privileged, capabilities } = ctx.input.facts;
  const bits = (m: number) => [m & 0o4000 ? 'setuid' : '', m & 0o2000 ? 'setgid' : ''].filter(Boolean).join('+');
  const p = privileged.map((f) =>
    ctx.finding('RB007', `${f.path} is ${bits(f.mode)} (owner ${f.uid}:${f.gid}, mode ${octal(f.mode)}), ${ctx.isBase(f.layer) ? 'from' : 'added by'} ${ctx.layerName(f.layer)}`, ctx.layerLoc(f.layer, f.path), sev(ctx, f.layer, 'warn')),
  );
  const c = capabilities.map((f) =>
    ctx.finding('RB008', `${f.path} has file capabilities (security.capability), ${ctx.isBase(f.layer) ? 'from' : 'added by'} ${ctx.layerName(f.layer)}`, ctx.layerLoc(f.layer, f.path), sev(ctx, f.layer, 'warn')),
  );
  return [...p, ...c];
}

function secretRules(ctx: Context): Finding[] {
  const out: Finding[] = [];
  for (const s of ctx.input.facts.secrets) {
    const gone = s.removedIn !== undefined ? `; removed by ${ctx.layerName(s.removedIn)} but still in the earlier layer's blob` : '';
    out.push(ctx.finding('RB009', `${s.path}: ${s.kind} in ${ctx.layerName(s.layer)}${gone}`, ctx.layerLoc(s.layer, s.path), sev(ctx, s.layer, 'error')));
  }
  for (const kv of ctx.config.Env ?? []) {
    const eq = kv.indexOf('=');
    const name = eq < 0 ? kv : kv.slice(0, eq);
    const why = secretVariable(name, eq < 0 ? '' : kv.slice(eq + 1));
    if (why) out.push(ctx.finding('RB010', `ENV ${name} is kept in the image config: ${why}`, envLoc(ctx, name)));
  }
  // BuildKit records the build args a RUN used in its history (`RUN |2 A=1 B=2 /bin/sh -c ...`).
  const seen = new Set<string>();
  for (const h of ctx.input.config.history ?? []) {
    const m = /^RUN \|(\d+) (.*)$/.exec(h.created_by ?? '');
    if (!m) continue;
    const words = m[2]!.split(' ').slice(0, Number(m[1]));
    for (const w of words) {
      const eq = w.indexOf('=');
      const name = eq < 0 ? w : w.slice(0, eq);
      const why = secretVariable(name, eq < 0 ? undefined : w.slice(eq + 1));
      if (why && !seen.has(name)) {
        seen.add(name);
        out.push(ctx.finding('RB010', `build arg ${name} is kept in the image history: ${why}`, ctx.instrLoc('ENV')));
      }
    }
  }
  return out;
}

function envLoc(ctx: Context, name: string): FindingLocation {
  const df = ctx.input.dockerfile;
  if (!df) return {};
  for (const stage of [df.final, ...df.stages.stages]) {
    const hit = [...stage.instructions].reverse().find((i) => i.kind === 'ENV' && i.env.some((e) => e.key === name));
    if (hit) return { file: df.file, line: hit.loc.line };
  }
  return { file: df.file, line: df.final.from.loc.line };
}

function addUrlRule(ctx: Context): Finding[] {
  const out: Finding[] = [];
  for (const l of ctx.input.facts.layers) {
    const cb = l.createdBy ?? '';
    if (l.base || !/^ADD\b/.test(cb) || /--checksum[= ]/.test(cb)) continue;
    const url = /\bhttps?:\/\/\S+/.exec(cb);
    if (url) out.push(ctx.finding('RB012', `ADD ${url[0]} without --checksum, in ${ctx.layerName(l.index)}`, ctx.layerLoc(l.index)));
  }
  return out;
}

/** True when argv is `<shell> -c script` (the shell form), with the config's SHELL or /bin/sh. */
export function isShellForm(argv: readonly string[] | null | undefined, shell: readonly string[] = ['/bin/sh', '-c']): boolean {
  if (!argv || argv.length < 2) return false;
  if (shell.length > 0 && shell.every((w, i) => argv[i] === w) && argv.length === shell.length + 1) return true;
  return /^(\/usr)?\/bin\/(ba|da|a)?sh$|^cmd$/.test(argv[0]!) && argv[1] === '-c' && argv.length === 3;
}

function commandRules(ctx: Context): Finding[] {
  const c = ctx.config;
  const out: Finding[] = [];
  const entry = c.Entrypoint ?? [];
  if (isShellForm(entry, c.Shell)) {
    out.push(ctx.finding('RB013', `ENTRYPOINT is in shell form (${JSON.stringify(entry)}): the shell is PID 1`, ctx.instrLoc('ENTRYPOINT')));
  } else if (entry.length === 0 && isShellForm(c.Cmd, c.Shell)) {
    out.push(ctx.finding('RB013', `CMD is in shell form (${JSON.stringify(c.Cmd)}): the shell is PID 1`, ctx.instrLoc('CMD')));
  }
  const hc = c.Healthcheck?.Test;
  if (!hc || hc.length === 0 || hc[0] === 'NONE') out.push(ctx.finding('RB014', 'the image has no HEALTHCHECK', ctx.instrLoc('HEALTHCHECK')));
  return out;
}

/** Human-readable bytes (1.2 MB): decimal units, as the check report has always printed them. */
export function formatBytes(n: number): string {
  return formatSize(n, 1000);
}

function cacheRule(ctx: Context): Finding[] {
  return ctx.input.facts.caches
    .filter((c) => c.bytes > 0)
    .map((c) => {
      const own = c.layers.filter((l) => !ctx.isBase(l));
      const layer = own.length > 0 ? own[own.length - 1]! : c.layers[c.layers.length - 1]!;
      return ctx.finding('RB015', `${c.dir}: ${c.manager} cache of ${formatBytes(c.bytes)} in ${c.files} files, left by ${ctx.layerName(layer)}`, ctx.layerLoc(layer, c.dir), {
        ...sev(ctx, own.length > 0 ? layer : c.layers[0]!, 'warn'),
        bytes: c.bytes,
      });
    });
}
