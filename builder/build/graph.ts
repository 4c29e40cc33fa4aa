/**
 * From typed instructions to the executor's graph. The stage graph itself
 * (global ARGs, FROM / COPY --from / RUN --mount from= references expanded
 * with the stage's ARGs as BuildKit does, --target pruning, cycles) is
 * planBuild's, the same one `rbuild plan` and `check` use; this module only
 * shapes its result for the executor.
 */
import { expandInstruction, type Instruction } from '../dockerfile/instructions.js';
import { groupStages, planBuild, predefinedArgs, type PlannedStage } from '../dockerfile/stages.js';
import { ShellLex } from '../dockerfile/shell-lex.js';
import type { Platform } from '../../registry/oci/types.js';
import { checkStagePlatform } from './stage-platform.js';
import type { BuildGraph, GraphStage, Step } from './build-types.js';

/** Inputs that shape the graph. */
export interface GraphOptions {
  file: string;
  target?: string;
  buildArgs: Map<string, string>;
  /** The build's platform (target and build platform alike: builds are for the host). */
  platform: Platform;
  escapeToken?: '\\' | '`';
}

/** The graph, plus what the CLI reports. */
export interface PlannedGraph extends BuildGraph {
  /** Build args that no needed stage consumes (BuildKit warns about them). */
  unusedBuildArgs: string[];
}

/** Groups instructions into stages and prunes them to the stages the target needs. */
export function planGraph(instructions: Instruction[], opts: GraphOptions): PlannedGraph {
  const escapeToken = opts.escapeToken ?? '\\';
  const lex = new ShellLex(escapeToken);
  const plan = planBuild(groupStages(instructions, opts.file, escapeToken), {
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    buildArgs: opts.buildArgs,
    platform: opts.platform,
    buildPlatform: opts.platform,
  });
  const predefined = predefinedArgs(opts.platform, opts.platform);
  const byIndex = new Map(plan.stages.map((p) => [p.index, p]));
  const idOf = (p: PlannedStage): string => p.name ?? String(p.index);
  const stages = plan.stages.map((p): GraphStage => {
    // Stages the target does not need are never built, so only these are checked.
    checkStagePlatform(p.platform, predefined.get('TARGETPLATFORM'), p.stage.loc);
    const base = p.base.kind === 'stage' ? idOf(byIndex.get(p.base.index)!) : undefined;
    return {
      id: idOf(p),
      index: p.index,
      from: base ?? (p.base.kind === 'image' ? p.base.ref : 'scratch'),
      ...(base !== undefined ? { baseStage: base } : {}),
      instructions: p.stage.instructions.map((i) => withGlobalDefaults(i as Step, plan.globalArgs, opts.buildArgs)),
    };
  });
  return {
    stages,
    target: idOf(byIndex.get(plan.target)!),
    buildArgs: opts.buildArgs,
    predefinedArgs: predefined,
    unusedBuildArgs: plan.unusedBuildArgs,
    expand: (instruction, env) => expandInstruction(instruction, env, lex),
  };
}

/** Inside a stage, `ARG NAME` without a default takes the global value (unless a build arg sets it). */
function withGlobalDefaults(step: Step, globals: ReadonlyMap<string, string>, buildArgs: ReadonlyMap<string, string>): Step {
  if (step.kind !== 'ARG') return step;
  const inherit = (a: { key: string; value?: string }): boolean => a.value === undefined && globals.has(a.key) && !buildArgs.has(a.key);
  if (!step.args.some(inherit)) return step;
  return { ...step, args: step.args.map((a) => (inherit(a) ? { key: a.key, value: globals.get(a.key)! } : a)) };
}
