/**
 * One build from a request: read and plan the Dockerfile, open the store,
 * run the executor with the real services, then name (and push) the image.
 */
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseDockerfile } from '../dockerfile/parser.js';
import { toInstructions } from '../dockerfile/instructions.js';
import { DockerfileError } from '../dockerfile/errors.js';
import { executeBuild, type BuildResult } from '../build/executor.js';
import type { EventSink } from '../build/events.js';
import { planGraph } from '../build/graph.js';
import { BuildContext, contextHashFile, HashCache } from '../build/context.js';
import { BuildError } from '../build/errors.js';
import { openStore } from '../../registry/store/oci-layout-store.js';
import { hostPlatform } from '../../registry/oci/platform.js';
import { normalizeName } from '../../registry/store/normalize-name.js';
import { join } from 'node:path';
import { buildServices } from './services.js';
import { needsRootfs, type OutputSpec } from '../build/output.js';
import { commitDiffOptions } from '../build/commit-compression.js';
import { compressBuiltImage } from './export-compression.js';

/** The media type of the layers a build commits by default. */
const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

/** Everything the build command was asked to do. */
export interface BuildRequest {
  context: string;
  dockerfile: string;
  tags: string[];
  buildArgs: Map<string, string>;
  target?: string;
  noCache: boolean;
  pull: 'always' | 'missing' | 'never';
  labels: Array<[string, string]>;
  /** Manifest annotations. */
  annotations?: Array<[string, string]>;
  /** --secret sources by id. */
  secrets?: Map<string, { file?: string; env?: string }>;
  /** --ssh agent sockets by id. */
  ssh?: Map<string, string>;
  /** One layer for the final stage's own changes. */
  squash?: boolean;
  /** --output destinations (default: the image in the store). */
  outputs?: OutputSpec[];
  /** Stages never taken from the cache. */
  noCacheFilter?: string[];
  network: 'default' | 'host' | 'none' | 'private';
  push: boolean;
  progress: import('./progress.js').ProgressMode;
  quiet: boolean;
  jobs?: number;
  sourceDateEpoch?: number;
  format: 'oci' | 'docker';
  compressionLevel?: number;
  /** --compression-format: compress layers at commit with it (default: uncompressed) and push with it (default gzip). */
  compressionFormat?: 'gzip' | 'zstd';
  root: string;
  iidfile?: string;
  metadataFile?: string;
  platform?: string;
  /** --cache-to registry refs: the build's cache records are pushed there. */
  cacheTo?: Array<{ ref: string; mode?: 'min' | 'max' }>;
  /** --cache-from registry refs: records consulted when the local cache misses. */
  cacheFrom?: string[];
  /** How RUN steps are isolated once chosen (build.ts decides; default rootless). */
  isolation?: import('../sandbox/isolation.js').IsolationMode;
  /** --storage-driver (default: the fastest that works; copy with chroot isolation). */
  storageDriver?: string;
  /** Registries reached over plain HTTP besides loopback ones (--insecure-registry). */
  insecureRegistries?: string[];
  /** --registries-config (mirrors, insecure hosts). */
  registriesConfig?: string;
  /** --authfile (default: $REGISTRY_AUTH_FILE or Docker's config.json). */
  authFile?: string;
}

/** What the build produced. */
export interface BuildOutcome extends BuildResult {
  imageId: string;
  /** Manifest digests as pushed (--push): they differ from the local one when layers were compressed for the push. */
  pushed: Array<{ ref: string; digest: string }>;
  tags: string[];
  size: number;
}

/** The --output writers (node-tar, zlib, the archive writer): loaded only when a build has such an output. */
function exporters(): Promise<typeof import('./export-output.js')> {
  return import('./export-output.js');
}

function readDockerfile(path: string): string {
  if (path === '-') return readFileSync(0, 'utf8');
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new DockerfileError('DOCKERFILE_NOT_FOUND', `cannot read Dockerfile: ${path} does not exist`, { file: path }, { hint: 'give its path with -f' });
  }
  if (st.isDirectory()) throw new DockerfileError('DOCKERFILE_IS_DIRECTORY', `${path} is a directory, not a Dockerfile`, { file: path }, { hint: 'give the file with -f DIR/Dockerfile' });
  return readFileSync(path, 'utf8');
}

/** Runs a build; throws NeedsNamespaceError when a step must run and the process is not in the build namespace. */
export async function runBuild(req: BuildRequest, emit: EventSink, signal?: AbortSignal): Promise<BuildOutcome> {
  const platform = hostPlatform();
  if (req.platform && req.platform !== `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`) {
    throw new BuildError('UNSUPPORTED', `building for ${req.platform} is not supported yet (this machine is ${platform.os}/${platform.architecture})`, 'drop --platform to build for the host');
  }
  const file = req.dockerfile === '-' ? 'Dockerfile' : req.dockerfile;
  const text = readDockerfile(req.dockerfile);
  const parsed = parseDockerfile(text, { file });
  const instructions = toInstructions(parsed);
  const graph = planGraph(instructions, {
    file,
    ...(req.target ? { target: req.target } : {}),
    buildArgs: req.buildArgs,
    platform,
    escapeToken: parsed.escapeToken,
  });
  for (const a of graph.unusedBuildArgs) emit({ type: 'warning', message: `build argument ${a} is not consumed by any ARG` });
  const tags = req.tags.map((t) => normalizeName(t));
  const store = await openStore(req.root);
  const services = buildServices({
    root: req.root, store, emit, ...(signal ? { signal } : {}),
    ...(req.isolation ? { isolation: req.isolation } : {}), ...(req.storageDriver ? { storageDriver: req.storageDriver } : {}),
    compression: { format: req.compressionFormat ?? 'gzip', ...(req.compressionLevel !== undefined ? { level: req.compressionLevel } : {}) },
    registry: {
      ...(req.insecureRegistries?.length ? { insecure: req.insecureRegistries } : {}),
      ...(req.registriesConfig ? { registriesConfig: req.registriesConfig } : {}),
      ...(req.authFile ? { authFile: req.authFile } : {}),
    },
  });
  try {
    return await buildWith(req, services, store, graph, platform, tags, emit, signal);
  } finally {
    await services.close();
  }
}

async function buildWith(
  req: BuildRequest,
  services: ReturnType<typeof buildServices>,
  store: Awaited<ReturnType<typeof openStore>>,
  graph: ReturnType<typeof planGraph>,
  platform: ReturnType<typeof hostPlatform>,
  tags: string[],
  emit: EventSink,
  signal?: AbortSignal,
): Promise<BuildOutcome> {
  const rootOutputs = (req.outputs ?? []).filter(needsRootfs);
  const context = new BuildContext(req.context, await services.ignoreMatcher(req.context, req.dockerfile), new HashCache(contextHashFile(join(req.root, 'cache'), req.context)));
  let cacheFallback;
  if (req.cacheFrom?.length && !req.noCache) {
    const { ImportedCache } = await import('../build/remote-cache.js');
    cacheFallback = await ImportedCache.load(req.cacheFrom, store, services.remoteCache, signal);
  }
  // With --push, the target stage's new layers start compressing as they are committed (they are
  // stored uncompressed), so the push waits for less at the end.
  // (Not with --squash: the stage's layers are replaced by one.)
  const commitCompression = commitDiffOptions(req).compression;
  const precompress = req.push && !req.squash && commitCompression === 'none';
  const stageOf = new Map<string, string>();
  const events: EventSink = !precompress ? emit : (e) => {
    if (e.type === 'step-start') stageOf.set(e.step, e.stage);
    else if (e.type === 'step-done' && e.layer && stageOf.get(e.step) === graph.target) {
      services.precompress({ mediaType: LAYER_TAR, digest: e.layer.digest as `sha256:${string}`, size: e.layer.size });
    }
    emit(e);
  };
  // Hashes are saved even when the build stops early: the first pass (outside the
  // namespace) hashes the context and then re-executes; the second pass reads them back.
  // A failed save only costs rehashing.
  const result = await executeBuild(
    graph,
    {
      root: req.root,
      context,
      platform,
      noCache: req.noCache,
      pull: req.pull,
      // One stage runs alone whatever the limit: node:os (~0.5 ms to load) only for several.
      jobs: req.jobs ?? (graph.stages.length > 1 ? availableParallelism() : 1),
      network: req.network,
      ...(req.sourceDateEpoch !== undefined ? { sourceDateEpoch: req.sourceDateEpoch } : {}),
      ...(req.compressionLevel !== undefined ? { compressionLevel: req.compressionLevel } : {}),
      ...(req.compressionFormat ? { compressionFormat: req.compressionFormat } : {}),
      labels: req.labels,
      format: req.format,
      ...(req.annotations?.length ? { annotations: req.annotations } : {}),
      ...(req.noCacheFilter?.length ? { noCacheFilter: req.noCacheFilter } : {}),
      ...(req.secrets ? { secrets: req.secrets } : {}),
      ...(req.squash ? { squash: true } : {}),
      ...(rootOutputs.length ? { exportRoot: async (root: string) => (await exporters()).exportRootfs(root, rootOutputs, signal) } : {}),
      ...(req.ssh ? { ssh: req.ssh } : {}),
      ...(cacheFallback ? { cacheFallback } : {}),
    },
    services.deps,
    events,
    signal,
  ).finally(() => context.saveHashes().catch(() => undefined))
    .then((built) => (commitCompression === 'none' ? built : compressBuiltImage(store, built, { format: commitCompression, ...(req.compressionLevel !== undefined ? { level: req.compressionLevel } : {}) }, signal)));
  for (const t of tags) await store.tag(t, result.descriptor);
  const size = result.manifest.layers.reduce((a, l) => a + l.size, 0) + result.manifest.config.size;
  emit({ type: 'export', digest: result.descriptor.digest, size, tags });
  for (const o of req.outputs ?? []) {
    if (o.type === 'oci' || o.type === 'docker') await (await exporters()).exportArchive(store, tags.length ? tags : [result.descriptor.digest], o, signal);
  }
  const pushed: BuildOutcome['pushed'] = [];
  if (req.push) {
    for (const t of tags) {
      emit({ type: 'push', ref: t, phase: 'start' });
      const digest = await services.push(result.descriptor, t);
      pushed.push({ ref: t, digest });
      emit({ type: 'push', ref: t, phase: 'done', digest });
    }
  }
  if (req.cacheTo?.length) {
    const { exportCache } = await import('../build/remote-cache.js');
    for (const c of req.cacheTo) {
      await exportCache(result.cacheRecords, c.ref, store, services.remoteCache, signal, { mode: c.mode ?? 'min', result: result.manifest.layers, baseLayers: result.baseImageLayers });
    }
  }
  return { ...result, imageId: result.manifest.config.digest, tags, size, pushed };
}
