/**
 * The stage graph: typed instructions grouped into stages, global ARGs, the
 * predefined platform ARGs, --build-arg overrides, stage references (FROM
 * <stage>, COPY --from, RUN --mount from=), --target pruning, dependency order
 * and the levels of stages that can build in parallel.
 */
import { DockerfileError, suggest } from './errors.js';
import {
  expandInstruction, toInstruction, type ArgInstruction, type FromInstruction, type InstrLocation, type Instruction,
} from './instructions.js';
import { parseDockerfile, type ParseResult } from './parser.js';
import { hostPlatform, predefinedArgs, proxyArgs, type Platform } from './platform.js';
import { ShellLex, ShellLexError } from './shell-lex.js';
import { StageScope } from './stage-scope.js';

export * from './platform.js';
export { resolveStageArg, StageScope, type ArgSources } from './stage-scope.js';

/** One build stage: its FROM and the instructions after it. */
export interface Stage {
  /** 0-based position in the Dockerfile. */
  index: number;
  /** Lowercased `AS` name, if any. */
  name?: string;
  from: FromInstruction;
  instructions: Instruction[];
  loc: InstrLocation;
}

/** All stages of a Dockerfile plus the ARGs declared before the first FROM. */
export interface Stages {
  file: string;
  stages: Stage[];
  globalArgs: ArgInstruction[];
  /** The escape token, for building the ShellLex the executor expands with. */
  escapeToken: '\\' | '`';
}

/** Groups a parse result into stages; instructions are typed and validated. */
export function toStages(ast: ParseResult): Stages {
  const ctx = { file: ast.file, lines: ast.lines };
  return groupStages(ast.nodes.map((node) => toInstruction(node, ctx)), ast.file, ast.escapeToken);
}

/** Groups typed instructions into stages (split at FROM) and the ARGs before the first FROM. */
export function groupStages(instructions: readonly Instruction[], file: string, escapeToken: '\\' | '`'): Stages {
  const stages: Stage[] = [];
  const globalArgs: ArgInstruction[] = [];
  const seen = new Map<string, Stage>();
  for (const instr of instructions) {
    if (instr.kind === 'FROM') {
      const stage: Stage = { index: stages.length, from: instr, instructions: [], loc: instr.loc };
      if (instr.stageName) {
        const prev = seen.get(instr.stageName);
        if (prev) {
          throw new DockerfileError('DOCKERFILE_STAGE', `duplicate stage name "${instr.stageName}" (first defined on line ${prev.loc.line})`, {
            file, line: instr.loc.line, column: instr.loc.column,
          });
        }
        stage.name = instr.stageName;
        seen.set(instr.stageName, stage);
      }
      stages.push(stage);
      continue;
    }
    const current = stages[stages.length - 1];
    if (!current) {
      if (instr.kind === 'ARG') {
        globalArgs.push(instr);
        continue;
      }
      throw new DockerfileError('DOCKERFILE_STAGE', `no build stage in current context: ${instr.kind} before the first FROM`, {
        file, line: instr.loc.line, column: instr.loc.column,
      }, { hint: 'only ARG may come before the first FROM' });
    }
    current.instructions.push(instr);
  }
  if (stages.length === 0) {
    throw new DockerfileError('DOCKERFILE_STAGE', 'the Dockerfile has no FROM instruction', { file, line: 1, column: 1 }, {
      hint: 'start the build with FROM <image>',
    });
  }
  return { file, stages, globalArgs, escapeToken };
}

/** What a stage's FROM resolves to. */
export type StageBase = { kind: 'scratch' } | { kind: 'image'; ref: string } | { kind: 'stage'; index: number };

/** A stage as it will be built. */
export interface PlannedStage {
  stage: Stage;
  index: number;
  name?: string;
  /** FROM after expansion with the global ARGs. */
  base: StageBase;
  /** Expanded --platform of FROM, if any. */
  platform?: string;
  /** Stages this one needs (base, COPY --from, RUN --mount from=), by index. */
  deps: number[];
  /** External images named by COPY --from / RUN --mount from=. */
  images: string[];
  /** 0 for stages that need no other stage; else 1 + the deepest dependency. */
  level: number;
}

/** Options for planBuild. */
export interface PlanOptions {
  /** Stage name (case-insensitive) or index; default: the last stage. */
  target?: string;
  buildArgs?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** The target platform; default: the host. */
  platform?: Platform;
  /** The build platform; default: the host. */
  buildPlatform?: Platform;
}

/** What will be built, in order. */
export interface BuildPlan {
  file: string;
  /** Index of the target stage. */
  target: number;
  /** The needed stages, dependencies first (stable by index). */
  stages: PlannedStage[];
  /** Stage indexes per level; stages in one level can build in parallel. */
  levels: number[][];
  /** Global ARG values (predefined platform ARGs included), usable in FROM. */
  globalArgs: Map<string, string>;
  /** The --build-arg values as given. */
  buildArgs: Map<string, string>;
  /** Build args nothing in the needed stages declares (BuildKit's "not consumed" warning). */
  unusedBuildArgs: string[];
  warnings: string[];
  targetPlatform: Platform;
  buildPlatform: Platform;
  escapeToken: '\\' | '`';
}

function toMap(m: PlanOptions['buildArgs']): Map<string, string> {
  if (!m) return new Map();
  if (m instanceof Map) return new Map(m);
  return new Map(Object.entries(m));
}

function stageError(loc: InstrLocation, message: string, hint?: string, cause?: unknown): DockerfileError {
  return new DockerfileError('DOCKERFILE_STAGE', message, { file: loc.file, line: loc.line, column: loc.column, endLine: loc.endLine }, {
    ...(hint ? { hint } : {}),
    ...(cause ? { cause } : {}),
  });
}

/** Finds a stage by name (case-insensitive) or, if `allowIndex`, by number. */
function findStage(stages: readonly Stage[], ref: string, allowIndex: boolean): Stage | undefined {
  const byName = stages.find((s) => s.name === ref.toLowerCase());
  if (byName) return byName;
  if (allowIndex && /^\d+$/.test(ref)) return stages[Number(ref)];
  return undefined;
}

/**
 * Resolves the stage graph for a target: global ARG values, each needed
 * stage's base and dependencies, the build order and the parallel levels.
 */
export function planBuild(all: Stages, opts: PlanOptions = {}): BuildPlan {
  const lex = new ShellLex(all.escapeToken);
  const buildArgs = toMap(opts.buildArgs);
  const host = hostPlatform();
  const targetPlatform = opts.platform ?? host;
  const buildPlatform = opts.buildPlatform ?? host;
  const usedArgs = new Set<string>();

  // Global scope: predefined platform ARGs, then the ARGs before the first FROM.
  const globals = predefinedArgs(targetPlatform, buildPlatform);
  const declaredGlobals = new Set<string>();
  for (const instr of all.globalArgs) {
    // One at a time: a default may use the ARG declared just before it.
    for (const arg of instr.args) {
      let a: { key: string; value?: string };
      try {
        a = expandInstruction({ ...instr, args: [arg] }, globals, lex).args[0]!;
      } catch (err) {
        throw err instanceof DockerfileError ? err : stageError(instr.loc, String(err));
      }
      declaredGlobals.add(a.key);
      if (buildArgs.has(a.key)) globals.set(a.key, buildArgs.get(a.key)!);
      else if (a.value !== undefined) globals.set(a.key, a.value);
    }
  }

  const stages = all.stages;
  const planned = new Map<number, PlannedStage>();
  const fromUsed = new Map<number, Set<string>>();
  // ENV of stages already walked, inherited by stages built on them.
  const stageEnv = new Map<number, Map<string, string>>();
  // Stage names the ONBUILD triggers of a stage refer to: needs of the stages built on it.
  const triggerRefs = new Map<number, string[]>();
  for (const stage of stages) {
    const used = new Set<string>();
    let from: FromInstruction;
    try {
      from = expandInstruction(stage.from, globals, lex, { used });
    } catch (err) {
      throw err instanceof DockerfileError ? err : stageError(stage.loc, String(err));
    }
    fromUsed.set(stage.index, used);
    const deps = new Set<number>();
    const images = new Set<string>();
    let base: StageBase;
    const ref = from.image;
    if (ref === '') throw stageError(stage.loc, 'base name (' + stage.from.image + ') should not be blank');
    const st = findStage(stages, ref, false);
    if (st) {
      if (st.index === stage.index) throw stageError(stage.loc, `stage ${ref} cannot use itself as a base`);
      base = { kind: 'stage', index: st.index };
      deps.add(st.index);
    } else if (ref.toLowerCase() === 'scratch') base = { kind: 'scratch' };
    else base = { kind: 'image', ref };

    // Stage-scope variables for --from: the stage's ARGs (build args win,
    // else the default, else the global value) and ENVs in order.
    const scope = new StageScope({ buildArgs, globalArgs: globals }, base.kind === 'stage' ? stageEnv.get(base.index) ?? [] : []);
    for (const instr of stage.instructions) {
      const env = scope.vars();
      try {
        if (instr.kind === 'ARG') {
          scope.applyArg(expandInstruction(instr, env, lex));
        } else if (instr.kind === 'ENV') {
          scope.applyEnv(expandInstruction(instr, env, lex));
        } else if (instr.kind === 'COPY' && instr.from !== undefined) {
          const ref = lex.processWord(instr.from, env);
          if (ref === '') throw stageError(instr.loc, `COPY --from=${instr.from} expands to an empty value`, 'set the variable with ARG or --build-arg');
          addRef(ref, instr.loc);
        } else if (instr.kind === 'ONBUILD') {
          triggerRefs.set(stage.index, [...(triggerRefs.get(stage.index) ?? []), ...onbuildRefs(instr.expression)]);
        } else if (instr.kind === 'RUN') {
          // Mount options may use variables only the base image defines; the
          // executor expands them at dispatch. Here they only reveal stage refs.
          let mounts = instr.mounts;
          try {
            mounts = expandInstruction(instr, env, lex).mounts;
          } catch {
            // keep the mounts that needed no expansion
          }
          for (const m of mounts) {
            if ((m.type === 'bind' || m.type === 'cache') && m.from) addRef(m.from, instr.loc);
          }
        }
      } catch (err) {
        if (err instanceof DockerfileError) throw err;
        if (err instanceof ShellLexError) throw stageError(instr.loc, err.message, undefined, err);
        throw err;
      }
    }
    stageEnv.set(stage.index, scope.env);
    function addRef(r: string, loc: InstrLocation): void {
      const s = findStage(stages, r, true);
      if (s) {
        if (s.index === stage.index) throw stageError(loc, `stage ${r} cannot refer to itself`);
        deps.add(s.index);
      } else if (/^\d+$/.test(r)) {
        throw stageError(loc, `invalid stage index ${r}: the Dockerfile has ${stages.length} stage(s)`);
      } else images.add(r);
    }
    const p: PlannedStage = { stage, index: stage.index, base, deps: [...deps].sort((a, b) => a - b), images: [...images], level: 0 };
    if (stage.name) p.name = stage.name;
    if (from.platform) {
      if (!/^[a-z0-9_.-]+(\/[a-z0-9_.-]+){0,2}$/i.test(from.platform)) {
        throw stageError(stage.loc, `invalid platform "${from.platform}" in FROM --platform`, 'use os/arch[/variant], e.g. linux/arm64');
      }
      p.platform = from.platform;
    }
    planned.set(stage.index, p);
  }

  // A stage built on another runs that one's ONBUILD triggers, and so needs what they name.
  for (const p of planned.values()) {
    if (p.base.kind !== 'stage') continue;
    for (const r of triggerRefs.get(p.base.index) ?? []) {
      const s = findStage(stages, r, true);
      if (s && s.index !== p.index) p.deps = [...new Set([...p.deps, s.index])].sort((a, b) => a - b);
      else if (!s && !/^\d+$/.test(r) && !p.images.includes(r)) p.images.push(r);
    }
  }

  // The target and everything it needs.
  let target: Stage;
  if (opts.target === undefined || opts.target === '') target = stages[stages.length - 1]!;
  else {
    const t = findStage(stages, opts.target, false);
    if (!t) {
      const near = suggest(opts.target, stages.map((s) => s.name).filter((n): n is string => !!n));
      throw new DockerfileError('DOCKERFILE_STAGE', `failed to reach build target ${opts.target} in Dockerfile`, { file: all.file }, {
        hint: near ? `did you mean ${near}?` : `stages: ${stages.map((s) => s.name ?? String(s.index)).join(', ')}`,
      });
    }
    target = t;
  }

  // Depth-first from the target: post-order gives dependencies first; a grey
  // node met again is a cycle.
  const state = new Map<number, 'grey' | 'black'>();
  const order: number[] = [];
  const visit = (i: number, path: number[]): void => {
    const s = state.get(i);
    if (s === 'black') return;
    if (s === 'grey') {
      const names = [...path.slice(path.indexOf(i)), i].map((n) => stages[n]!.name ?? String(n));
      throw stageError(stages[i]!.loc, `circular dependency detected on stage: ${names.join(' -> ')}`);
    }
    state.set(i, 'grey');
    for (const d of planned.get(i)!.deps) visit(d, [...path, i]);
    state.set(i, 'black');
    order.push(i);
  };
  visit(target.index, []);

  for (const i of order) {
    const p = planned.get(i)!;
    p.level = p.deps.length === 0 ? 0 : 1 + Math.max(...p.deps.map((d) => planned.get(d)!.level));
  }
  const needed = order.map((i) => planned.get(i)!).sort((a, b) => a.level - b.level || a.index - b.index);
  const levels: number[][] = [];
  for (const p of needed) (levels[p.level] ??= []).push(p.index);

  // Consumed build args: declared by ARG in a needed stage, or a global ARG
  // that a needed FROM references.
  for (const p of needed) {
    for (const u of fromUsed.get(p.index)!) if (declaredGlobals.has(u)) usedArgs.add(u);
    for (const instr of p.stage.instructions) if (instr.kind === 'ARG') for (const a of instr.args) usedArgs.add(a.key);
  }
  const predefined = new Set([...predefinedArgs(targetPlatform, buildPlatform).keys(), ...proxyArgs]);
  const unusedBuildArgs = [...buildArgs.keys()].filter((k) => !usedArgs.has(k) && !predefined.has(k)).sort();
  const warnings = unusedBuildArgs.length > 0 ? [`one or more build-args [${unusedBuildArgs.join(' ')}] were not consumed`] : [];

  return {
    file: all.file,
    target: target.index,
    stages: needed,
    levels,
    globalArgs: globals,
    buildArgs,
    unusedBuildArgs,
    warnings,
    targetPlatform,
    buildPlatform,
    escapeToken: all.escapeToken,
  };
}

/**
 * The --from names (COPY, RUN --mount) of an ONBUILD trigger, as written: a name with a variable
 * expands in the scope of the stage that runs the trigger, which the executor resolves then.
 */
function onbuildRefs(expression: string): string[] {
  let triggers: Instruction[];
  try {
    const ast = parseDockerfile(`${expression}\n`, { file: 'ONBUILD' });
    triggers = ast.nodes.map((n) => toInstruction(n, { file: ast.file, lines: ast.lines }));
  } catch {
    return []; // a bad trigger fails where it runs, with its own error
  }
  const refs: string[] = [];
  for (const t of triggers) {
    if (t.kind === 'COPY' && t.from !== undefined) refs.push(t.from);
    if (t.kind === 'RUN') for (const m of t.mounts) if ((m.type === 'bind' || m.type === 'cache') && m.from) refs.push(m.from);
  }
  return refs.filter((r) => !r.includes('$'));
}
