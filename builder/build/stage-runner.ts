/**
 * A stage from its base to its final state: the base's ONBUILD triggers
 * first, then each instruction expanded with the stage's environment, looked
 * up in the build cache, and executed only on a miss.
 */
import * as cfg from '../image/config.js';
import { cacheKey } from './cache.js';
import { parseTriggers } from './onbuild.js';
import { baseState } from './stage-base.js';
import { stepKeyParts } from './step-key.js';
import type { BuildRun } from './build-run.js';
import type { GraphStage, StageState } from './build-types.js';

/** Runs every step of `stage` (cached or executed, with events); returns its final state. */
export async function runStage(run: BuildRun, stage: GraphStage): Promise<StageState> {
  const { graph, opts, cache, counts, emit, signal } = run;
  let state = await baseState(run, stage);
  const noCache = opts.noCacheFilter?.some((f) => f.toLowerCase() === stage.id || f === String(stage.index)) ?? false;
  // The base's ONBUILD triggers run first, as if they were written right after FROM.
  const instructions = [...parseTriggers(state.onBuild ?? [], stage.from), ...stage.instructions];
  state = { ...state, onBuild: [] };
  const total = instructions.length;
  for (let i = 0; i < total; i++) {
    signal?.throwIfAborted();
    const step = graph.expand(instructions[i]!, expansionEnv(state));
    const id = `${stage.id}/${i + 1}`;
    const ev = { step: id, stage: stage.id, index: i + 1, total, text: step.original };
    if (step.kind === 'ARG') {
      // ARG changes what later steps see; it is part of the key chain but needs no execution.
      const args = new Map(state.args);
      for (const a of step.args) {
        const v = graph.buildArgs.get(a.key) ?? graph.predefinedArgs.get(a.key) ?? a.value;
        if (v !== undefined) args.set(a.key, v);
      }
      state = { ...state, args, key: cacheKey(state.key, 'ARG', [...args].sort()) };
      continue;
    }
    const keyParts = await stepKeyParts(run, step, state);
    const key = cacheKey(state.key, step.kind, keyParts);
    const hit = noCache ? undefined : await cache.get(key);
    if (hit) {
      emit({ type: 'step-cached', ...ev });
      counts.cached++;
      state = { ...state, key, config: hit.config, layers: hit.layers };
      continue;
    }
    emit({ type: 'step-start', ...ev });
    const started = Date.now();
    // Loaded on the first miss: what runs steps (snapshots, the sandbox, COPY) is most of the
    // executor, and a fully cached rebuild never needs it.
    const { executeStep } = await import('./execute-step.js');
    const next = await executeStep(run, step, state, id);
    state = { ...next, key };
    await cache.put(key, { config: state.config, layers: state.layers });
    counts.executed++;
    const top = state.layers[state.layers.length - 1];
    emit({ type: 'step-done', step: id, ms: Date.now() - started, ...(top ? { layer: { digest: top.digest, size: top.size } } : {}) });
  }
  return state;
}

/** The variables a step is expanded with: the stage's ARGs, then its ENV (ENV wins, as in BuildKit). */
function expansionEnv(state: StageState): Map<string, string> {
  // ENV wins over ARG of the same name (BuildKit).
  const env = new Map(state.args);
  for (const [k, v] of cfg.envMap(state.config)) env.set(k, v);
  return env;
}
