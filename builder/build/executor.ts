/**
 * Runs a planned build graph: stages in dependency order (independent ones in
 * parallel, bounded by `jobs`), each instruction looked up in the build cache
 * first, and only on a miss executed: config instructions edit the image
 * config, RUN runs in the sandbox on a prepared snapshot, COPY/ADD write into
 * one; changes become layers in the content store.
 *
 * The parts: build-run (the shared state of one build), stage-runner (a
 * stage's steps), stage-base (FROM and --from), step-key (cache keys),
 * execute-step (one step on a miss), write-targets (mounted / unmounted /
 * --link snapshots for COPY, ADD, WORKDIR), layer-snapshots, run-step (RUN in
 * the sandbox), copy-step (COPY/ADD), squash-stage, write-image.
 */
import { BuildRun } from './build-run.js';
import type { BuildDeps, BuildGraph, BuildOptions, BuildResult } from './build-types.js';
import { BuildError, NeedsNamespaceError } from './errors.js';
import { FailFast } from './fail-fast.js';
import type { EventSink } from './events.js';
import { withView } from './layer-snapshots.js';
import { runStage } from './stage-runner.js';
import { writeImage } from './write-image.js';

export type {
  BuildDeps, BuildGraph, BuildOptions, BuildResult, GraphStage, ImageSource, ResolvedImage, ResolvedUser, Step, UnmountedSnapshots,
} from './build-types.js';
export { parseChmod } from './chmod-spec.js';

/** Builds the graph and writes the image (config + manifest) into the store; tags are the caller's. */
export async function executeBuild(graph: BuildGraph, opts: BuildOptions, deps: BuildDeps, emit: EventSink, signal?: AbortSignal): Promise<BuildResult> {
  // A failing stage cancels the others (their running steps are killed), and the build reports that failure.
  const failFast = new FailFast(signal);
  const run = new BuildRun(graph, opts, deps, emit, failFast.signal, runStage);
  const target = run.stage(graph.target) ?? graph.stages[graph.stages.length - 1];
  if (!target) throw new BuildError('NO_STAGES', 'the Dockerfile has no stages');
  // Start every needed stage so that independent ones run in parallel.
  const stages = graph.stages.map((s) => run.stageResult(s.id).catch((err: unknown) => failFast.fail(err)));
  let handOver = false;
  try {
    let final = await run.stageResult(target.id);
    await opts.context.saveHashes();
    if (opts.squash && final.layers.length - final.baseLayers > 1) final = await (await import('./squash-stage.js')).squashState(run, final);
    if (opts.exportRoot) await withView(run, final.layers, opts.exportRoot);
    const image = await writeImage(deps.store, final, opts);
    return { ...image, executed: run.counts.executed, cached: run.counts.cached, cacheRecords: run.cache.touched, baseImageLayers: run.baseImageLayers };
  } catch (err) {
    failFast.fail(err);
    // Cancelled stages clean up (processes killed, snapshots removed) before the build returns.
    await Promise.allSettled(stages);
    const error = failFast.error(err);
    // The build re-runs inside its namespace: what was downloaded for cache keys goes with it.
    handOver = error instanceof NeedsNamespaceError;
    throw error;
  } finally {
    failFast.dispose();
    await run.downloads.close(handOver);
  }
}
