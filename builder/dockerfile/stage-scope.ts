/**
 * The variables a stage's instructions are expanded with: ENV values
 * (inherited from the base image or parent stage, then the stage's own) and
 * the stage's ARG values. ARGs do not pass to child stages; ENV does. An ENV
 * always wins over an ARG of the same name.
 */
import type { ArgInstruction, EnvInstruction } from './instruction-types.js';

/** Where in-stage ARGs take their values from. */
export interface ArgSources {
  buildArgs: ReadonlyMap<string, string>;
  globalArgs: ReadonlyMap<string, string>;
}

/** The value an in-stage `ARG key[=default]` (already expanded) takes: build arg, default, then global value. */
export function resolveStageArg(arg: { key: string; value?: string }, from: ArgSources): string | undefined {
  return from.buildArgs.get(arg.key) ?? arg.value ?? from.globalArgs.get(arg.key);
}

/** Tracks a stage's ARG and ENV values while its instructions are walked in order. */
export class StageScope {
  readonly args = new Map<string, string>();
  readonly env: Map<string, string>;

  /** `inheritedEnv`: the base image's or parent stage's environment. */
  constructor(
    private readonly sources: ArgSources,
    inheritedEnv: Iterable<readonly [string, string]> = [],
  ) {
    this.env = new Map(inheritedEnv);
  }

  /** The environment to expand the next instruction with. */
  vars(): Map<string, string> {
    const out = new Map(this.args);
    for (const [k, v] of this.env) out.set(k, v);
    return out;
  }

  /** Records an (already expanded) ARG instruction. */
  applyArg(instr: Pick<ArgInstruction, 'args'>): void {
    for (const a of instr.args) {
      const v = resolveStageArg(a, this.sources);
      if (v !== undefined) this.args.set(a.key, v);
    }
  }

  /** Records an (already expanded) ENV instruction. */
  applyEnv(instr: Pick<EnvInstruction, 'env'>): void {
    for (const kv of instr.env) this.env.set(kv.key, kv.value);
  }
}
