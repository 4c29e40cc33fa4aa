/**
 * What FROM and --from name: an earlier stage's result or an image (local,
 * else pulled), as the state a stage starts from, as a cache-key part, or as
 * a read-only view.
 */
import * as cfg from '../image/config.js';
import { cacheKey, type LayerRef } from './cache.js';
import { BuildError } from './errors.js';
import { openView } from './layer-snapshots.js';
import { unpackWhilePulling } from './pull-unpack.js';
import type { BuildRun } from './build-run.js';
import type { GraphStage, ResolvedImage, StageState } from './build-types.js';

/** The state a stage starts from: scratch, an earlier stage (its ONBUILD triggers pending), or an image. */
export async function baseState(run: BuildRun, stage: GraphStage): Promise<StageState> {
  const { opts } = run;
  const from = stage.from;
  const dep = stage.baseStage !== undefined ? run.stage(stage.baseStage) : undefined;
  if (!dep && from.toLowerCase() === 'scratch') {
    return { key: cacheKey('', 'FROM', ['scratch', opts.platform]), config: cfg.scratchConfig(opts.platform), layers: [], args: new Map(), baseLayers: 0 };
  }
  if (dep) {
    const s = await run.stageResult(dep.id);
    // The content of the stage (its layers), not only its key: a stage rebuilt under
    // --no-cache-filter with a different result invalidates what is built on it.
    const onBuild = s.config.config?.OnBuild ?? [];
    return { ...s, config: onBuild.length ? cfg.withoutOnBuild(s.config) : s.config, key: cacheKey(s.key, 'FROM', s.layers.map((l) => l.diffId)), args: new Map(), baseLayers: s.layers.length, onBuild };
  }
  const image = await baseImage(run, from, runsSteps(stage));
  const layers = imageLayerRefs(image);
  for (const l of layers) run.baseImageLayers.add(l.digest);
  return { key: cacheKey('', 'FROM', [image.descriptor.digest]), config: cfg.withoutOnBuild(image.config), layers, args: new Map(), baseLayers: layers.length, onBuild: image.config.config?.OnBuild ?? [] };
}

/**
 * An image by name, from the local store or pulled, as --pull says. With `unpack` (the stage will
 * run steps on it), the first pull of an image extracts the layers as they download, so it happens
 * in the build namespace: outside it, asking for the snapshotter throws NeedsNamespaceError before
 * anything is downloaded.
 */
export async function baseImage(run: BuildRun, name: string, unpack = false): Promise<ResolvedImage> {
  const { deps, opts, emit, signal } = run;
  const local = await deps.images.local(name, signal);
  if (local && opts.pull !== 'always') return local;
  if (!local && opts.pull === 'never') throw new BuildError('IMAGE_NOT_FOUND', `image ${name} is not in the local store`, `pull it first (rbuild pull ${name}) or drop --pull=never`);
  // Only a first pull: --pull=always on a local image mostly finds its blobs, and its steps may all be cached.
  const snap = unpack && !local ? await deps.snapshotter() : undefined;
  emit({ type: 'pull', ref: name, phase: 'start' });
  const img = await deps.images.pull(name, signal, snap ? { tapLayer: unpackWhilePulling(snap) } : undefined);
  emit({ type: 'pull', ref: name, phase: 'done', layers: img.manifest.layers.length, bytes: img.manifest.layers.reduce((a, l) => a + l.size, 0) });
  return img;
}

/**
 * Whether a stage runs steps on its base (RUN): then a missing base is pulled in the build namespace,
 * where its layers can be extracted as they download. A stage of COPY and config steps only may be
 * built without the namespace, and its base is pulled wherever the build is.
 */
function runsSteps(stage: GraphStage): boolean {
  return stage.instructions.some((i) => i.kind === 'RUN');
}

/** The layers of an image as the build state tracks them. */
export function imageLayerRefs(img: ResolvedImage): LayerRef[] {
  return img.manifest.layers.map((l, i) => ({
    mediaType: l.mediaType,
    digest: l.digest as `sha256:${string}`,
    size: l.size,
    diffId: img.config.rootfs.diff_ids[i] as `sha256:${string}`,
  }));
}

/** The layers a stage or image reference holds (COPY --from, RUN --mount from=). */
export async function fromLayers(run: BuildRun, from: string): Promise<LayerRef[]> {
  const dep = run.resolveStageRef(from);
  return dep ? (await run.stageResult(dep.id)).layers : imageLayerRefs(await baseImage(run, from));
}

/** What a stage or image reference holds, for cache keys: the stage's layers or the image's digest. */
export async function fromContentKey(run: BuildRun, from: string): Promise<string> {
  const dep = run.resolveStageRef(from);
  return dep ? JSON.stringify((await run.stageResult(dep.id)).layers.map((l) => l.diffId)) : (await baseImage(run, from)).descriptor.digest;
}

/** A read-only view of a stage's or image's file system, held until release (RUN --mount from=). */
export async function openFrom(run: BuildRun, from: string): Promise<{ root: string; release(): Promise<void> }> {
  return openView(run, await fromLayers(run, from));
}
