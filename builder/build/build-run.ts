/**
 * One executeBuild call as an object: its inputs (graph, options, effects,
 * event sink, signal) and what its stages share (the build cache, downloads,
 * counts, each stage's result). The executor's modules take it instead of
 * closing over executeBuild's locals.
 */
import pLimit from 'p-limit';
import { join } from 'node:path';
import { BuildCache } from './cache.js';
import { Downloads } from './add-sources.js';
import { BuildError } from './errors.js';
import type { EventSink } from './events.js';
import type { BuildDeps, BuildGraph, BuildOptions, GraphStage, StageState } from './build-types.js';

/** Runs one stage of a build to its final state (stage-runner's runStage). */
export type StageRunner = (run: BuildRun, stage: GraphStage) => Promise<StageState>;

/** The shared state of one build; each stage runs at most once, `jobs` at a time. */
export class BuildRun {
  /** The build cache (local records, then --cache-from's). */
  readonly cache: BuildCache;
  /** URLs fetched for ADD (for keys, then for the copy): each downloaded once. */
  readonly downloads: Downloads;
  /** Steps executed and taken from the cache. */
  readonly counts = { executed: 0, cached: 0 };
  /** Layer digests of the base images (FROM an image). */
  readonly baseImageLayers = new Set<string>();
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly results = new Map<string, Promise<StageState>>();
  private readonly byId: Map<string, GraphStage>;

  constructor(
    readonly graph: BuildGraph,
    readonly opts: BuildOptions,
    readonly deps: BuildDeps,
    readonly emit: EventSink,
    readonly signal: AbortSignal | undefined,
    private readonly runStage: StageRunner,
  ) {
    this.cache = new BuildCache(opts.root, opts.noCache, async (d) => (await deps.store.stat(d)) !== undefined);
    if (opts.cacheFallback) this.cache.fallback = opts.cacheFallback;
    this.limit = pLimit(Math.max(1, opts.jobs));
    this.byId = new Map(graph.stages.map((s) => [s.id, s]));
    this.downloads = new Downloads(join(opts.root, 'tmp'));
  }

  /** The stage with this id (lower-case name or index), if the build has it. */
  stage(id: string): GraphStage | undefined {
    return this.byId.get(id);
  }

  /** The final state of a stage, started on first request. */
  stageResult(id: string): Promise<StageState> {
    const existing = this.results.get(id);
    if (existing) return existing;
    const stage = this.byId.get(id);
    if (!stage) return Promise.reject(new BuildError('STAGE_NOT_FOUND', `stage ${JSON.stringify(id)} is not part of the build`));
    const p = this.limit(() => this.runStage(this, stage));
    this.results.set(id, p);
    return p;
  }

  /** The stage a FROM / --from reference names (a stage name in any case, or an index), if any. */
  resolveStageRef(ref: string): GraphStage | undefined {
    return this.byId.get(ref.toLowerCase()) ?? this.graph.stages.find((s) => String(s.index) === ref);
  }
}

/** The creation time of history entries: SOURCE_DATE_EPOCH when given, else now. */
export function createdTime(opts: BuildOptions): string {
  return opts.sourceDateEpoch !== undefined ? new Date(opts.sourceDateEpoch * 1000).toISOString() : new Date().toISOString();
}
