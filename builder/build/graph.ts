/**
 * From typed instructions to the executor's graph: stages split at FROM,
 * global ARGs (before the first FROM) expanded into FROM lines only, stage
 * dependencies from `FROM <stage>`, `COPY --from` and `RUN --mount from=`,
 * and `--target` pruning to the stages the target needs.
 */
import { DockerfileError } from '../dockerfile/errors.js';
import { expandInstruction, type FromInstruction, type Instruction } from '../dockerfile/instructions.js';
import { ShellLex } from '../dockerfile/shell-lex.js';
import type { BuildGraph, GraphStage, Step } from './build-types.js';

/** Inputs that shape the graph. */
export interface GraphOptions {
  file: string;
  target?: string;
  buildArgs: Map<string, string>;
  predefinedArgs: Map<string, string>;
  escapeToken?: '\\' | '`';
}

/** The graph, plus what the CLI reports. */
export interface PlannedGraph extends BuildGraph {
  /** Build args that no ARG declares (docker warns about them). */
  unusedBuildArgs: string[];
}

/** Groups instructions into stages and prunes them to the target. */
export function planGraph(instructions: Instruction[], opts: GraphOptions): PlannedGraph {
  const lex = new ShellLex(opts.escapeToken ?? '\\');
  const globalArgs = new Map(opts.predefinedArgs);
  const declared = new Set<string>();
  const stages: Array<GraphStage & { deps: Set<string>; name?: string }> = [];
  for (const instr of instructions) {
    if (instr.kind === 'FROM') {
      const from = expandInstruction(instr, globalArgs, lex) as FromInstruction;
      const index = stages.length;
      stages.push({ id: instr.stageName ?? String(index), index, from: from.image, instructions: [], deps: new Set(), ...(instr.stageName ? { name: instr.stageName } : {}) });
      continue;
    }
    const current = stages[stages.length - 1];
    if (!current) {
      if (instr.kind !== 'ARG') {
        throw new DockerfileError('DOCKERFILE_STAGE', `${instr.kind} before the first FROM`, { file: instr.loc.file, line: instr.loc.line, column: instr.loc.column }, { hint: 'only ARG may come before the first FROM' });
      }
      for (const a of instr.args) {
        declared.add(a.key);
        const v = opts.buildArgs.get(a.key) ?? (a.value !== undefined ? lex.processWord(a.value, globalArgs) : undefined);
        if (v !== undefined) globalArgs.set(a.key, v);
      }
      continue;
    }
    if (instr.kind === 'ARG') {
      for (const a of instr.args) declared.add(a.key);
      // Inside a stage, `ARG NAME` without a default takes the global value.
      instr.args.forEach((a, i) => {
        if (a.value === undefined && globalArgs.has(a.key) && !opts.buildArgs.has(a.key)) instr.args[i] = { key: a.key, value: globalArgs.get(a.key)! };
      });
    }
    if (instr.kind === 'COPY' && instr.from) current.deps.add(instr.from.toLowerCase());
    if (instr.kind === 'RUN') for (const m of instr.mounts) if ('from' in m && m.from) current.deps.add(m.from.toLowerCase());
    current.instructions.push(instr as Step);
  }
  if (stages.length === 0) {
    throw new DockerfileError('DOCKERFILE_STAGE', 'the Dockerfile has no FROM instruction', { file: opts.file }, { hint: 'a Dockerfile starts with FROM <image> (or FROM scratch)' });
  }
  const byKey = new Map<string, (typeof stages)[number]>();
  for (const s of stages) {
    byKey.set(String(s.index), s);
    if (s.name) byKey.set(s.name, s);
  }
  for (const s of stages) {
    const base = byKey.get(s.from.toLowerCase());
    if (base && base.index < s.index) s.deps.add(s.from.toLowerCase());
  }
  let target = stages[stages.length - 1]!;
  if (opts.target) {
    const t = byKey.get(opts.target.toLowerCase());
    if (!t) {
      throw new DockerfileError('DOCKERFILE_STAGE', `target stage ${JSON.stringify(opts.target)} could not be found`, { file: opts.file }, { hint: `stages: ${stages.map((s) => s.name ?? s.index).join(', ')}` });
    }
    target = t;
  }
  const needed = new Set<number>();
  const visit = (s: (typeof stages)[number]): void => {
    if (needed.has(s.index)) return;
    needed.add(s.index);
    for (const d of s.deps) {
      const dep = byKey.get(d);
      if (dep && dep.index < s.index) visit(dep);
    }
  };
  visit(target);
  return {
    stages: stages.filter((s) => needed.has(s.index)).map(({ id, index, from, instructions: ins }) => ({ id, index, from, instructions: ins })),
    target: target.id,
    buildArgs: opts.buildArgs,
    predefinedArgs: opts.predefinedArgs,
    unusedBuildArgs: [...opts.buildArgs.keys()].filter((k) => !declared.has(k)),
    expand: (instruction, env) => expandInstruction(instruction, env, lex),
  };
}

/** The predefined platform ARGs for a platform (BuildKit fills them from the build's platforms). */
export function platformArgs(p: { os: string; architecture: string; variant?: string }): Map<string, string> {
  const plat = `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
  return new Map([
    ['TARGETPLATFORM', plat], ['TARGETOS', p.os], ['TARGETARCH', p.architecture], ['TARGETVARIANT', p.variant ?? ''],
    ['BUILDPLATFORM', plat], ['BUILDOS', p.os], ['BUILDARCH', p.architecture], ['BUILDVARIANT', p.variant ?? ''],
  ]);
}
