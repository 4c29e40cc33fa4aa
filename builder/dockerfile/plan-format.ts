/**
 * Presenting a BuildPlan: each needed stage's instructions expanded with the
 * variables known before the build (ARG values, Dockerfile ENV; base image ENV
 * is not known until the image is pulled), as text or a JSON-ready object.
 */
import { expandInstruction, type Instruction } from './instructions.js';
import { ShellLex } from './shell-lex.js';
import { StageScope } from './stage-scope.js';
import { formatPlatform, type BuildPlan, type PlannedStage } from './stages.js';

/** One instruction of a planned stage, expanded when possible. */
export interface PlannedInstruction {
  line: number;
  text: string;
  instruction: Instruction;
  /** Set when expansion failed (the text is then unexpanded). */
  expansionError?: string;
}

const q = (s: string): string => (/^[^\s"'\\$]*$/.test(s) && s !== '' ? s : JSON.stringify(s));

/** Renders a typed instruction back to one line of Dockerfile-like text. */
export function formatInstruction(i: Instruction): string {
  const flag = (name: string, v: string | boolean | undefined): string =>
    v === undefined || v === false ? '' : v === true ? ` --${name}` : ` --${name}=${v}`;
  const cmdline = (c: { cmd: string[]; prependShell: boolean }): string =>
    c.prependShell ? (c.cmd[0] ?? '') : JSON.stringify(c.cmd);
  switch (i.kind) {
    case 'FROM':
      return `FROM${flag('platform', i.platform)} ${i.image}${i.stageName ? ` AS ${i.stageName}` : ''}`;
    case 'RUN': {
      const mounts = i.mounts.map((m) => ' --mount=' + Object.entries(m).map(([k, v]) => `${k}=${typeof v === 'number' && k === 'mode' ? v.toString(8) : String(v)}`).join(','));
      const devs = i.devices.map((d) => ` --device=${d.name}${d.required ? ',required' : ''}`);
      return `RUN${mounts.join('')}${flag('network', i.network)}${flag('security', i.security)}${devs.join('')} ${cmdline(i)}`;
    }
    case 'CMD':
    case 'ENTRYPOINT':
      return `${i.kind} ${cmdline(i)}`;
    case 'SHELL':
      return `SHELL ${JSON.stringify(i.shell)}`;
    case 'ENV':
      return `ENV ${i.env.map((kv) => `${kv.key}=${q(kv.value)}`).join(' ')}`;
    case 'LABEL':
      return `LABEL ${i.labels.map((kv) => `${q(kv.key)}=${q(kv.value)}`).join(' ')}`;
    case 'ARG':
      return `ARG ${i.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${q(a.value)}`)).join(' ')}`;
    case 'EXPOSE':
      return `EXPOSE ${i.ports.join(' ')}`;
    case 'VOLUME':
      return `VOLUME ${JSON.stringify(i.volumes)}`;
    case 'USER':
      return `USER ${i.user}`;
    case 'WORKDIR':
      return `WORKDIR ${i.path}`;
    case 'COPY':
    case 'ADD': {
      let f = i.kind === 'COPY' ? flag('from', i.from) + flag('parents', i.parents) : flag('checksum', i.checksum) + flag('keep-git-dir', i.keepGitDir) + flag('unpack', i.unpack === undefined ? undefined : String(i.unpack));
      f += flag('chown', i.chown) + flag('chmod', i.chmod) + flag('link', i.link) + i.exclude.map((e) => ` --exclude=${e}`).join('');
      const srcs = [...i.sources.map(q), ...i.contents.map((c) => `<<${c.path}`)];
      return `${i.kind}${f} ${srcs.join(' ')} ${q(i.dest)}`;
    }
    case 'HEALTHCHECK': {
      if (i.test[0] === 'NONE') return 'HEALTHCHECK NONE';
      const d = (n: number): string => (n ? `${n / 1e9}s` : '');
      const f = flag('interval', d(i.interval) || undefined) + flag('timeout', d(i.timeout) || undefined) +
        flag('start-period', d(i.startPeriod) || undefined) + flag('start-interval', d(i.startInterval) || undefined) +
        flag('retries', i.retries ? String(i.retries) : undefined);
      return `HEALTHCHECK${f} CMD ${i.test[0] === 'CMD-SHELL' ? i.test[1] : JSON.stringify(i.test.slice(1))}`;
    }
    case 'ONBUILD':
      return `ONBUILD ${i.expression.split('\n')[0]}`;
    case 'STOPSIGNAL':
      return `STOPSIGNAL ${i.signal}`;
    case 'MAINTAINER':
      return `MAINTAINER ${i.maintainer}`;
  }
}

/**
 * Expands every needed stage's instructions as far as can be known before the
 * build: ARG values (build args, defaults, global values) and Dockerfile ENV,
 * inherited from a parent stage. Base image ENV is unknown here.
 */
export function expandPlannedStages(plan: BuildPlan): Map<number, PlannedInstruction[]> {
  const lex = new ShellLex(plan.escapeToken);
  // ENV passes from a parent stage to its children; ARG values do not.
  const finalEnv = new Map<number, Map<string, string>>();
  const out = new Map<number, PlannedInstruction[]>();
  for (const p of plan.stages) {
    const scope = new StageScope(plan, p.base.kind === 'stage' ? finalEnv.get(p.base.index) ?? [] : []);
    const list: PlannedInstruction[] = [];
    const from = { ...p.stage.from, image: p.base.kind === 'image' ? p.base.ref : p.base.kind === 'scratch' ? 'scratch' : p.stage.from.image };
    if (p.platform) from.platform = p.platform;
    list.push({ line: p.stage.loc.line, text: formatInstruction(from), instruction: from });
    for (const instr of p.stage.instructions) {
      let ex: Instruction = instr;
      let expansionError: string | undefined;
      try {
        ex = expandInstruction(instr, scope.vars(), lex);
      } catch (err) {
        expansionError = err instanceof Error ? err.message : String(err);
      }
      if (ex.kind === 'ARG') scope.applyArg(ex);
      else if (ex.kind === 'ENV') scope.applyEnv(ex);
      const item: PlannedInstruction = { line: instr.loc.line, text: formatInstruction(ex), instruction: ex };
      if (expansionError) item.expansionError = expansionError;
      list.push(item);
    }
    finalEnv.set(p.index, scope.env);
    out.set(p.index, list);
  }
  return out;
}

const stageLabel = (p: Pick<PlannedStage, 'index' | 'name'>): string => (p.name ? `${p.index} (${p.name})` : String(p.index));

/** The plan as a JSON-ready object (`rbuild plan --format json`). */
export function planToJSON(plan: BuildPlan): unknown {
  const expanded = expandPlannedStages(plan);
  return {
    file: plan.file,
    target: plan.target,
    targetPlatform: formatPlatform(plan.targetPlatform),
    buildPlatform: formatPlatform(plan.buildPlatform),
    levels: plan.levels,
    globalArgs: Object.fromEntries(plan.globalArgs),
    unusedBuildArgs: plan.unusedBuildArgs,
    warnings: plan.warnings,
    stages: plan.stages.map((p) => ({
      index: p.index,
      name: p.name ?? null,
      base: p.base,
      platform: p.platform ?? null,
      level: p.level,
      deps: p.deps,
      images: p.images,
      instructions: expanded.get(p.index)!.map((i) => ({ line: i.line, text: i.text, ...(i.expansionError ? { expansionError: i.expansionError } : {}), instruction: i.instruction })),
    })),
  };
}

/** The plan as text: stages in build order, dependencies, parallel levels, expanded instructions. */
export function planToText(plan: BuildPlan): string {
  const expanded = expandPlannedStages(plan);
  const byIndex = new Map(plan.stages.map((p) => [p.index, p]));
  const lines: string[] = [];
  lines.push(`target: stage ${stageLabel(byIndex.get(plan.target)!)}  platform: ${formatPlatform(plan.targetPlatform)} (build: ${formatPlatform(plan.buildPlatform)})`);
  lines.push(`stages: ${plan.stages.length}, in ${plan.levels.length} level(s):`);
  plan.levels.forEach((lvl, n) => {
    lines.push(`  level ${n}: ${lvl.map((i) => stageLabel(byIndex.get(i)!)).join(', ')}${lvl.length > 1 ? '  (parallel)' : ''}`);
  });
  for (const p of plan.stages) {
    lines.push('');
    const base = p.base.kind === 'stage' ? `stage ${stageLabel(byIndex.get(p.base.index)!)}` : p.base.kind === 'scratch' ? 'scratch' : `image ${p.base.ref}`;
    lines.push(`stage ${stageLabel(p)}  from ${base}${p.platform ? `  platform ${p.platform}` : ''}`);
    lines.push(`  level ${p.level}; needs: ${p.deps.length ? p.deps.map((d) => stageLabel(byIndex.get(d)!)).join(', ') : 'no other stage'}${p.images.length ? `; images: ${p.images.join(', ')}` : ''}`);
    for (const i of expanded.get(p.index)!) {
      lines.push(`  ${String(i.line).padStart(4)}  ${i.text}${i.expansionError ? `   [not expanded: ${i.expansionError}]` : ''}`);
    }
  }
  for (const w of plan.warnings) lines.push('', `warning: ${w}`);
  return lines.join('\n') + '\n';
}
