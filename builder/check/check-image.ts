/**
 * Running a check: an image (walk its layers, then the image rules, plus the
 * Dockerfile-only rules when its Dockerfile is known) or a Dockerfile alone.
 * Which leading layers are the base image's: told (`baseLayers`), found from
 * the base image named by the Dockerfile's FROM (in the store), or guessed
 * from the history (the trailing layers rbuild wrote are this image's own).
 */
import type { ContentStore, ImageIndex } from '../../registry/content-store.js';
import type { Descriptor, History, ImageConfig, Manifest } from '../../registry/oci/types.js';
import { loadImage } from '../../registry/store/images.js';
import { loadDockerfile, planBuild, type Stages } from '../dockerfile/index.js';
import { checkDockerfileSource } from './dockerfile-rules.js';
import { checkImageFacts } from './image-rules.js';
import { dockerfileSource, stageChain, type DockerfileSource } from './source-map.js';
import type { CheckReport, LayerFacts } from './types.js';
import { walkLayers } from './walker.js';

/** Options of an image check. */
export interface CheckImageOptions {
  /** Name shown in the report (default: the manifest digest). */
  name?: string;
  /** The Dockerfile the image was built from (path), for line numbers and the Dockerfile-only rules. */
  dockerfile?: string;
  /** The Dockerfile stage the image is (default: the last one). */
  target?: string;
  /** How many leading layers are the base image's (overrides every other way of finding out). */
  baseLayers?: number;
  /** The base image's layer diff_ids (e.g. of `--base IMAGE`): the base is the matching prefix. */
  baseDiffIds?: readonly string[];
  /** Looks up an image config by reference (the store), to find the Dockerfile's base image. */
  resolveConfig?: (ref: string) => Promise<ImageConfig | undefined>;
  signal?: AbortSignal;
  /** Called after each layer is read. */
  onLayer?: (layer: LayerFacts) => void;
}

/** Checks an image given by manifest and config; reads each layer blob once. */
export async function checkImage(store: Pick<ContentStore, 'read'>, image: { manifest: Manifest; config: ImageConfig; digest?: string }, opts: CheckImageOptions = {}): Promise<CheckReport> {
  const src = opts.dockerfile ? await loadSource(opts.dockerfile, opts.target, opts.signal) : undefined;
  const baseLayers = await baseLayerCount(image.config, image.manifest.layers.length, src, opts);
  const workdir = image.config.config?.WorkingDir;
  const facts = await walkLayers(store, image.manifest.layers, {
    baseLayers,
    ...(image.config.history ? { history: image.config.history } : {}),
    ...(workdir ? { watch: [workdir] } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onLayer ? { onLayer: opts.onLayer } : {}),
  });
  const findings = checkImageFacts({ config: image.config, facts, ...(src ? { dockerfile: src } : {}) });
  if (src) findings.push(...checkDockerfileSource(src, 'source-only'));
  return {
    target: opts.name ?? image.digest ?? 'image',
    ...(src ? { dockerfile: src.file } : {}),
    findings,
    layers: facts.layers,
  };
}

/**
 * Checks an image in the store by its manifest (or index) descriptor: what
 * `rbuild build --check` calls with the build's result.
 */
export async function checkBuiltImage(
  store: ContentStore & Partial<Pick<ImageIndex, 'resolve'>>,
  manifestDescriptor: Descriptor,
  opts: CheckImageOptions = {},
): Promise<CheckReport> {
  const img = await loadImage(store, manifestDescriptor, opts.signal ? { signal: opts.signal } : {});
  const resolveConfig = opts.resolveConfig ?? (store.resolve ? configResolver(store as ContentStore & Pick<ImageIndex, 'resolve'>, opts.signal) : undefined);
  return checkImage(store, { manifest: img.manifest, config: img.config, digest: img.manifestDescriptor.digest }, { ...opts, ...(resolveConfig ? { resolveConfig } : {}) });
}

/** Looks up image configs by name in a store (normalised names, like the build stores its pulls). */
export function configResolver(store: ContentStore & Pick<ImageIndex, 'resolve'>, signal?: AbortSignal): (ref: string) => Promise<ImageConfig | undefined> {
  return async (ref) => {
    const { normalizeName } = await import('../../registry/store/normalize-name.js');
    let d: Descriptor | undefined;
    try {
      d = await store.resolve(normalizeName(ref));
    } catch {
      return undefined;
    }
    if (!d) return undefined;
    return (await loadImage(store, d, signal ? { signal } : {})).config;
  };
}

/** Checks a Dockerfile alone. */
export async function checkDockerfile(path: string, opts: { target?: string; signal?: AbortSignal } = {}): Promise<CheckReport> {
  const src = await loadSource(path, opts.target, opts.signal);
  return { target: path, dockerfile: src.file, findings: checkDockerfileSource(src, 'all'), layers: [] };
}

async function loadSource(path: string, target: string | undefined, signal?: AbortSignal): Promise<DockerfileSource> {
  const loaded = await loadDockerfile(path, { ...(signal ? { signal } : {}) });
  return dockerfileSource(path, loaded.stages, target);
}

/** The image reference the final stage is built on (through FROM <stage> chains), with global ARGs expanded. */
export function baseImageRef(src: DockerfileSource): string | undefined {
  const root = stageChain(src).at(-1)!;
  try {
    // planBuild takes a stage name as target; unnamed stages are only reachable as the last one.
    const plan = planBuild(src.stages as Stages, src.final.name ? { target: src.final.name } : {});
    const planned = plan.stages.find((s) => s.index === root.index);
    return planned?.base.kind === 'image' ? planned.base.ref : undefined;
  } catch {
    return root.from.image.toLowerCase() === 'scratch' ? undefined : root.from.image;
  }
}

async function baseLayerCount(config: ImageConfig, layerCount: number, src: DockerfileSource | undefined, opts: CheckImageOptions): Promise<number> {
  if (opts.baseLayers !== undefined) return Math.min(opts.baseLayers, layerCount);
  let baseIds = opts.baseDiffIds;
  if (!baseIds && src && opts.resolveConfig) {
    const ref = baseImageRef(src);
    if (ref === undefined && stageChain(src).at(-1)!.from.image.toLowerCase() === 'scratch') return 0;
    if (ref) baseIds = (await opts.resolveConfig(ref))?.rootfs.diff_ids;
  }
  if (baseIds) {
    const own = config.rootfs.diff_ids;
    let n = 0;
    while (n < baseIds.length && n < own.length && baseIds[n] === own[n]) n++;
    return n;
  }
  return baseFromHistory(config.history, layerCount);
}

/** The layers before the trailing run that rbuild wrote (history comment `rbuild`), when the history lines up. */
export function baseFromHistory(history: History[] | undefined, layerCount: number): number {
  const withLayers = (history ?? []).filter((h) => !h.empty_layer);
  if (withLayers.length !== layerCount) return 0;
  let n = layerCount;
  while (n > 0 && withLayers[n - 1]!.comment === 'rbuild') n--;
  return n === layerCount ? 0 : n;
}
