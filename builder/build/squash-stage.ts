/** --squash: the final stage's own layers as one, cached like a step. */
import { cacheKey } from './cache.js';
import { withSnapshot, withView } from './layer-snapshots.js';
import { createdTime, type BuildRun } from './build-run.js';
import type { StageState } from './build-types.js';

/** One layer for the stage's own changes: a snapshot of its base synced to its final file system. */
export async function squashState(run: BuildRun, state: StageState): Promise<StageState> {
  const { cache, opts, signal } = run;
  const key = cacheKey(state.key, 'SQUASH', []);
  const hit = await cache.get(key);
  if (hit) return { ...state, key, config: hit.config, layers: hit.layers };
  const base: StageState = { ...state, layers: state.layers.slice(0, state.baseLayers) };
  const { syncTree } = await import('./squash.js');
  const layer = await withView(run, state.layers, (finalRoot) => withSnapshot(run, base, async (root) => void (await syncTree(finalRoot, root, signal))));
  // The base's history stays; the stage's own entries become empty, one entry carries the squashed layer.
  let seen = 0;
  const history = (state.config.history ?? []).map((h) => {
    if (h.empty_layer) return h;
    return ++seen > state.baseLayers ? { ...h, empty_layer: true } : h;
  });
  if (layer) history.push({ created: createdTime(opts), created_by: 'rbuild build --squash', comment: 'rbuild' });
  const next: StageState = { ...state, key, config: { ...state.config, history }, layers: layer ? [...base.layers, layer] : base.layers };
  await cache.put(key, { config: next.config, layers: next.layers });
  return next;
}
