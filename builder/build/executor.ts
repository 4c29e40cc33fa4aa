/**
 * Runs a planned build graph: stages in dependency order (independent ones in
 * parallel, bounded by `jobs`), each instruction looked up in the build cache
 * first, and only on a miss executed: config instructions edit the image
 * config, RUN runs in the sandbox on a prepared snapshot, COPY/ADD write into
 * one; changes become layers in the content store.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { ContentStore, ImageIndex } from '../../registry/content-store.js';
import type { Descriptor, HealthConfig, ImageConfig, Manifest } from '../../registry/oci/types.js';
import type { Snapshotter } from '../../snapshotter/snapshotter.js';
import type { UpperWriter } from '../../snapshotter/upper-writer.js';
import type { Sandbox, StepMount } from '../sandbox/sandbox.js';
import { BuildCache, cacheKey, type CacheFallback, type CacheRecord, type LayerRef } from './cache.js';
import { BuildContext } from './context.js';
import { copyInto, ensureDir, parentsDestination, RootTree, type CopyOptions, type FileReuse, type PathResolver, type SourceTree } from './copy.js';
import { openCopyReuse, type LayerDirs } from './copy-reuse.js';
import { createIgnoreMatcher } from '../dockerfile/dockerignore.js';
import { detectArchive, Downloads, extractArchive, gitClone, gitRemoteCommit, isGitUrl, isHttpUrl, type ArchiveKind } from './add-sources.js';
import { resolveInRoot } from './resolve-in-root.js';
import { BuildError, NeedsNamespaceError, RunFailedError } from './errors.js';
import type { EventSink } from './events.js';
import { planRunHeredoc, PIPES_DIR } from './run-heredoc.js';
import { parseTriggers } from './onbuild.js';
import { missingMountPoints, prepareRunMounts, removeMountPoints, type SecretSource } from './run-mounts.js';
import type { Instruction } from '../dockerfile/instructions.js';

/** An expanded instruction other than FROM: what the executor runs. */
export type Step = Exclude<Instruction, { kind: 'FROM' }>;
import * as cfg from '../image/config.js';
import { chainIds } from '../../snapshotter/chain-id.js';

/** An image as the executor needs it. */
export interface ResolvedImage {
  name: string;
  descriptor: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
}

/** Where base images come from. */
export interface ImageSource {
  /** The image if the local store has it. */
  local(name: string, signal?: AbortSignal): Promise<ResolvedImage | undefined>;
  /** Pulls the image into the local store. */
  pull(name: string, signal?: AbortSignal): Promise<ResolvedImage>;
}

/** A user and groups resolved from an image's /etc/passwd and /etc/group. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

/** A snapshotter usable in this very process for work without mounts (see BuildDeps.unmountedSnapshotter). */
export interface UnmountedSnapshots {
  snapshotter: Snapshotter;
  /** Outside the build namespace: the host ids that are 0:0 in it (files this process writes get them). */
  hostRoot?: { uid: number; gid: number };
}

/** Effects the executor needs; snapshotter and sandbox may throw NeedsNamespaceError. */
export interface BuildDeps {
  store: ContentStore & ImageIndex;
  images: ImageSource;
  snapshotter(): Promise<Snapshotter>;
  /**
   * A snapshotter for COPY, ADD and WORKDIR written without a mount (prepareUnmounted), usable
   * outside the build namespace too; absent: those steps use snapshotter() and a mount.
   */
  unmountedSnapshotter?(): Promise<UnmountedSnapshots>;
  sandbox(): Promise<Sandbox>;
  resolveUser(rootfs: string, user: string): Promise<ResolvedUser>;
}

/** A stage of the planned graph. */
export interface GraphStage {
  /** Stage name (lower-case) or its index as a string. */
  id: string;
  index: number;
  /** The FROM argument after expansion of global ARGs. */
  from: string;
  /** The stage's instructions after FROM, unexpanded. */
  instructions: Step[];
}

/** What to build. */
export interface BuildGraph {
  /** Stages in dependency order, only those the target needs. */
  stages: GraphStage[];
  /** Which stage's result is the image. */
  target: string;
  /** --build-arg values. */
  buildArgs: Map<string, string>;
  /** Values of the predefined platform/proxy ARGs. */
  predefinedArgs: Map<string, string>;
  /** Expands an instruction with the stage's environment at dispatch time. */
  expand(instruction: Step, env: Map<string, string>): Step;
}

/** Build options beyond the graph. */
export interface BuildOptions {
  root: string;
  context: BuildContext;
  platform: { os: string; architecture: string; variant?: string };
  noCache: boolean;
  pull: 'always' | 'missing' | 'never';
  jobs: number;
  network: 'host' | 'none' | 'private' | 'default';
  sourceDateEpoch?: number;
  compressionLevel?: number;
  labels: Array<[string, string]>;
  format: 'oci' | 'docker';
  /** Manifest annotations (--annotation). */
  annotations?: Array<[string, string]>;
  /** --secret values by id (never part of a layer, a cache key or the history). */
  secrets?: ReadonlyMap<string, SecretSource>;
  /** --ssh agent sockets by id. */
  ssh?: ReadonlyMap<string, string>;
  /** Called with the final file system (a read-only view) for --output type=local|tar. */
  exportRoot?: (root: string) => Promise<void>;
  /** Squash the final stage's own layers into one (--squash). */
  squash?: boolean;
  /** Stages whose steps never come from the cache (--no-cache-filter). */
  noCacheFilter?: string[];
  /** Records imported from --cache-from, consulted on a local miss. */
  cacheFallback?: CacheFallback;
}

/** The built image. */
export interface BuildResult {
  descriptor: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
  /** Steps executed and cached. */
  executed: number;
  cached: number;
  /** Every cache record the build hit or stored (what --cache-to exports). */
  cacheRecords: ReadonlyMap<string, CacheRecord>;
  /** Layer digests of the base images (FROM an image): not made by the build, not exported as cache. */
  baseImageLayers: ReadonlySet<string>;
}

interface StageState {
  key: string;
  config: ImageConfig;
  layers: LayerRef[];
  /** ARGs declared in the stage and their values. */
  args: Map<string, string>;
  /** How many of `layers` came from the base (image or stage) rather than this stage's steps. */
  baseLayers: number;
  /** ONBUILD triggers of the base, to run first (then gone from the config). */
  onBuild?: string[];
}

/** Where a COPY, ADD or WORKDIR step writes. */
interface WriteTarget {
  /** Host directory: a mounted root, or an unmounted snapshot's upper. */
  root: string;
  /** An unmounted snapshot's path resolver (copies up from the layers below); undefined on a mounted root. */
  resolve?: PathResolver;
  /** An unmounted snapshot's read-only lookup (host path of the merged entry, nothing copied up). */
  locate?: (imagePath: string) => string | undefined;
  /** Outside the build namespace: the host ids that are 0:0 inside; undefined when ids are the build's own. */
  hostRoot?: { uid: number; gid: number };
  /** A directory whose etc/passwd and etc/group are the step's (USER and --chown names). */
  userRoot(): Promise<string>;
}

/** An unmounted write that a mounted snapshot must redo (an archive to unpack, a path it does not emulate). */
class UnmountedFallback extends Error {}

/** Whether an error from an unmounted step means "do it with a mount" rather than "the step fails". */
function needsMount(e: unknown): boolean {
  if (e instanceof UnmountedFallback) return true;
  const code = (e as { code?: unknown } | null)?.code;
  if ((e as Error | null)?.name === 'SnapshotError') return code === 'NEEDS_NAMESPACE' || code === 'UNMOUNTED_FALLBACK' || code === 'FOREIGN_OWNER';
  // Owners this process cannot give (outside the namespace): the namespace can.
  return code === 'EPERM' || code === 'EACCES';
}

/** Builds the graph and writes the image (config + manifest) into the store; tags are the caller's. */
export async function executeBuild(graph: BuildGraph, opts: BuildOptions, deps: BuildDeps, emit: EventSink, signal?: AbortSignal): Promise<BuildResult> {
  const cache = new BuildCache(opts.root, opts.noCache, async (d) => (await deps.store.stat(d)) !== undefined);
  if (opts.cacheFallback) cache.fallback = opts.cacheFallback;
  const limit = pLimit(Math.max(1, opts.jobs));
  const results = new Map<string, Promise<StageState>>();
  const counts = { executed: 0, cached: 0 };
  const byId = new Map(graph.stages.map((s) => [s.id, s]));
  const downloads = new Downloads(join(opts.root, 'tmp'));
  const baseImageLayers = new Set<string>();

  const stageResult = (id: string): Promise<StageState> => {
    const existing = results.get(id);
    if (existing) return existing;
    const stage = byId.get(id);
    if (!stage) return Promise.reject(new BuildError('STAGE_NOT_FOUND', `stage ${JSON.stringify(id)} is not part of the build`));
    const p = limit(() => runStage(stage));
    results.set(id, p);
    return p;
  };

  const resolveStageRef = (ref: string): GraphStage | undefined => byId.get(ref.toLowerCase()) ?? graph.stages.find((s) => String(s.index) === ref);

  async function baseState(stage: GraphStage): Promise<StageState> {
    const from = stage.from;
    if (from.toLowerCase() === 'scratch') {
      return { key: cacheKey('', 'FROM', ['scratch', opts.platform]), config: cfg.scratchConfig(opts.platform), layers: [], args: new Map(), baseLayers: 0 };
    }
    const dep = resolveStageRef(from);
    if (dep && dep.index < stage.index) {
      const s = await stageResult(dep.id);
      // The content of the stage (its layers), not only its key: a stage rebuilt under
      // --no-cache-filter with a different result invalidates what is built on it.
      const onBuild = s.config.config?.OnBuild ?? [];
      return { ...s, config: onBuild.length ? cfg.withoutOnBuild(s.config) : s.config, key: cacheKey(s.key, 'FROM', s.layers.map((l) => l.diffId)), args: new Map(), baseLayers: s.layers.length, onBuild };
    }
    const image = await baseImage(from);
    const layers = imageLayerRefs(image);
    for (const l of layers) baseImageLayers.add(l.digest);
    return { key: cacheKey('', 'FROM', [image.descriptor.digest]), config: cfg.withoutOnBuild(image.config), layers, args: new Map(), baseLayers: layers.length, onBuild: image.config.config?.OnBuild ?? [] };
  }

  async function baseImage(name: string): Promise<ResolvedImage> {
    if (opts.pull !== 'always') {
      const local = await deps.images.local(name, signal);
      if (local) return local;
      if (opts.pull === 'never') throw new BuildError('IMAGE_NOT_FOUND', `image ${name} is not in the local store`, `pull it first (rbuild pull ${name}) or drop --pull=never`);
    }
    emit({ type: 'pull', ref: name, phase: 'start' });
    const img = await deps.images.pull(name, signal);
    emit({ type: 'pull', ref: name, phase: 'done', layers: img.manifest.layers.length, bytes: img.manifest.layers.reduce((a, l) => a + l.size, 0) });
    return img;
  }

  /** Makes sure every layer of a state is unpacked; returns the top chain ID. */
  async function ensureSnapshots(layers: LayerRef[], using?: Snapshotter): Promise<`sha256:${string}` | undefined> {
    if (layers.length === 0) return undefined;
    const snap = using ?? (await deps.snapshotter());
    const chains = chainIds(layers.map((l) => l.diffId));
    for (let i = 0; i < layers.length; i++) {
      if (await snap.exists(chains[i]!)) continue;
      const l = layers[i]!;
      await snap.unpack({ chainId: chains[i]!, parent: i > 0 ? chains[i - 1] : undefined, diffId: l.diffId, mediaType: l.mediaType, open: () => deps.store.read(l.digest, signal) }, signal);
    }
    return chains[chains.length - 1];
  }

  /** Runs `work` on a writable snapshot of `state`, then turns its changes into a layer. */
  async function withSnapshot(state: StageState, work: (root: string) => Promise<void>): Promise<LayerRef | undefined> {
    const parent = await ensureSnapshots(state.layers);
    const snap = await deps.snapshotter();
    const key = `build-${randomBytes(8).toString('hex')}`;
    const active = await snap.prepare(key, parent, signal);
    try {
      await work(active.root);
      const info = await snap.diff(key, deps.store, { compression: 'gzip', level: opts.compressionLevel, sourceDateEpoch: opts.sourceDateEpoch }, signal);
      if (!info) return undefined;
      const layer: LayerRef = { mediaType: info.mediaType, digest: info.digest as `sha256:${string}`, size: info.size, diffId: info.diffId };
      const chain = chainIds([...state.layers.map((l) => l.diffId), layer.diffId]);
      await snap.commit(key, chain[chain.length - 1]!, signal);
      return layer;
    } finally {
      await snap.remove(key);
    }
  }

  /**
   * Runs a COPY/ADD/WORKDIR `work` on a writable snapshot of `state` and turns its changes into a
   * layer: unmounted when the snapshotter can (no mount, no namespace for root-owned writes), else
   * mounted as withSnapshot does. Outside the namespace, what needs it throws NeedsNamespaceError.
   */
  async function withWritable(state: StageState, work: (t: WriteTarget) => Promise<void>): Promise<LayerRef | undefined> {
    const direct = deps.unmountedSnapshotter ? await deps.unmountedSnapshotter() : undefined;
    if (direct?.snapshotter.prepareUnmounted) {
      const r = await withUnmounted(direct, state.layers, work, true);
      if (r !== FALLBACK) return r;
      if (direct.hostRoot) throw new NeedsNamespaceError();
    }
    return withSnapshot(state, (root) => work(mountedTarget(root)));
  }

  /** withWritable's unmounted half; FALLBACK when a mounted snapshot must redo the step. */
  async function withUnmounted(
    direct: UnmountedSnapshots, layers: LayerRef[], work: (t: WriteTarget) => Promise<void>, commit: boolean, usersFrom?: LayerRef[],
  ): Promise<LayerRef | undefined | typeof FALLBACK> {
    const snap = direct.snapshotter;
    const key = `build-${randomBytes(8).toString('hex')}`;
    let users: string | undefined;
    try {
      const parent = await ensureSnapshots(layers, snap);
      const active = await snap.prepareUnmounted!(key, parent, signal);
      // Loaded on first use: a fully cached rebuild does not pay for it.
      const { UpperWriter } = await import('../../snapshotter/upper-writer.js');
      const writer = new UpperWriter(active.upper, active.lower);
      const target: WriteTarget = {
        root: active.upper,
        resolve: (p, followLast) => writer.resolve(p, followLast),
        locate: (p) => writer.locate(p, true),
        ...(direct.hostRoot ? { hostRoot: direct.hostRoot } : {}),
        userRoot: async () => (users ??= usersFrom ? await usersDirOf(snap, usersFrom) : await usersDir(writer)),
      };
      await work(target);
      writer.finish();
      const info = await snap.diff(key, deps.store, { compression: 'gzip', level: opts.compressionLevel, sourceDateEpoch: opts.sourceDateEpoch }, signal);
      if (!info) return undefined;
      const layer: LayerRef = { mediaType: info.mediaType, digest: info.digest as `sha256:${string}`, size: info.size, diffId: info.diffId };
      if (commit) {
        const chain = chainIds([...layers.map((l) => l.diffId), layer.diffId]);
        await snap.commit(key, chain[chain.length - 1]!, signal);
      }
      return layer;
    } catch (e) {
      if (needsMount(e) && !signal?.aborted) return FALLBACK;
      throw e;
    } finally {
      await snap.remove(key);
      if (users) await rm(users, { recursive: true, force: true });
    }
  }

  /**
   * COPY --link without a mount: the files go into an empty unmounted snapshot (not committed:
   * its chain is not a full root); names resolve against the stage's own /etc/passwd.
   */
  async function withLinkUnmounted(state: StageState, work: (t: WriteTarget) => Promise<void>): Promise<LayerRef | undefined | typeof FALLBACK> {
    const direct = deps.unmountedSnapshotter ? await deps.unmountedSnapshotter() : undefined;
    if (!direct?.snapshotter.prepareUnmounted) return FALLBACK;
    const r = await withUnmounted(direct, [], work, false, state.layers);
    if (r === FALLBACK && direct.hostRoot) throw new NeedsNamespaceError();
    return r;
  }

  /** usersDir for a chain read through an unmounted snapshot of it (nothing written there). */
  async function usersDirOf(snap: Snapshotter, layers: LayerRef[]): Promise<string> {
    const parent = await ensureSnapshots(layers, snap);
    const key = `users-${randomBytes(8).toString('hex')}`;
    const active = await snap.prepareUnmounted!(key, parent, signal);
    try {
      const { UpperWriter } = await import('../../snapshotter/upper-writer.js');
      return await usersDir(new UpperWriter(active.upper, active.lower));
    } finally {
      await snap.remove(key);
    }
  }

  /** A directory holding the merged root's /etc/passwd and /etc/group (regular files only, as passwd.ts reads them). */
  async function usersDir(writer: UpperWriter): Promise<string> {
    const dir = join(opts.root, 'tmp', `users-${randomBytes(6).toString('hex')}`);
    await mkdir(join(dir, 'etc'), { recursive: true });
    for (const f of ['passwd', 'group']) {
      const src = writer.locate(`/etc/${f}`, false);
      if (src && (await lstat(src)).isFile()) await copyFile(src, join(dir, 'etc', f));
    }
    return dir;
  }

  /** Runs `work` on an empty writable snapshot and returns its content as a layer; not committed (its chain is not a full root). */
  async function withEmptySnapshot(work: (root: string) => Promise<void>): Promise<LayerRef | undefined> {
    const snap = await deps.snapshotter();
    const key = `link-${randomBytes(8).toString('hex')}`;
    const active = await snap.prepare(key, undefined, signal);
    try {
      await work(active.root);
      const info = await snap.diff(key, deps.store, { compression: 'gzip', level: opts.compressionLevel, sourceDateEpoch: opts.sourceDateEpoch }, signal);
      return info ? { mediaType: info.mediaType, digest: info.digest as `sha256:${string}`, size: info.size, diffId: info.diffId } : undefined;
    } finally {
      await snap.remove(key);
    }
  }

  async function withView<T>(layers: LayerRef[], work: (root: string) => Promise<T>): Promise<T> {
    const parent = await ensureSnapshots(layers);
    const snap = await deps.snapshotter();
    const key = `view-${randomBytes(8).toString('hex')}`;
    const view = await snap.view(key, parent, signal);
    try {
      return await work(view.root);
    } finally {
      await snap.remove(key);
    }
  }

  function expansionEnv(state: StageState): Map<string, string> {
    // ENV wins over ARG of the same name (BuildKit).
    const env = new Map(state.args);
    for (const [k, v] of cfg.envMap(state.config)) env.set(k, v);
    return env;
  }

  async function workdirOwner(root: string, config: ImageConfig): Promise<ResolvedUser | undefined> {
    const user = config.config?.User;
    if (!user) return undefined;
    return deps.resolveUser(root, user);
  }

  async function runStage(stage: GraphStage): Promise<StageState> {
    let state = await baseState(stage);
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
      const keyParts = await stepKeyParts(step, state);
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
      const next = await executeStep(step, state, id);
      state = { ...next, key };
      await cache.put(key, { config: state.config, layers: state.layers });
      counts.executed++;
      const top = state.layers[state.layers.length - 1];
      emit({ type: 'step-done', step: id, ms: Date.now() - started, ...(next.layers.length > 0 && next.layers !== state.layers ? {} : {}), ...(top ? { layer: { digest: top.digest, size: top.size } } : {}) });
    }
    return state;
  }

  /** What a stage or image reference holds, for cache keys: the stage's layers or the image's digest. */
  async function fromContentKey(from: string): Promise<string> {
    const dep = resolveStageRef(from);
    return dep ? JSON.stringify((await stageResult(dep.id)).layers.map((l) => l.diffId)) : (await baseImage(from)).descriptor.digest;
  }

  /** A read-only view of a stage's or image's file system, held until release (RUN --mount from=). */
  async function openFrom(from: string): Promise<{ root: string; release(): Promise<void> }> {
    const dep = resolveStageRef(from);
    const layers = dep ? (await stageResult(dep.id)).layers : imageLayerRefs(await baseImage(from));
    const parent = await ensureSnapshots(layers);
    const snap = await deps.snapshotter();
    const key = `view-${randomBytes(8).toString('hex')}`;
    const view = await snap.view(key, parent, signal);
    return { root: view.root, release: () => snap.remove(key) };
  }

  async function stepKeyParts(step: Step, state: StageState): Promise<unknown> {
    switch (step.kind) {
      case 'RUN': {
        // What bind mounts show the step is part of its input, like COPY's sources.
        const mounted: string[] = [];
        for (const m of step.mounts) {
          if (m.type !== 'bind') continue;
          if (m.from) mounted.push(await fromContentKey(m.from));
          else mounted.push(await opts.context.checksum(await opts.context.resolve([m.source ?? '.'])));
        }
        return [step.cmd, step.prependShell, step.mounts, mounted, step.network ?? opts.network, step.files, [...state.args].sort()];
      }
      case 'COPY':
      case 'ADD': {
        let source: string;
        const from = step.kind === 'COPY' ? step.from : undefined;
        if (from) {
          source = await fromContentKey(from);
        } else if (step.sources.length === 0) {
          source = 'inline';
        } else if (step.kind === 'ADD' && step.sources.some((src) => isHttpUrl(src) || isGitUrl(src))) {
          // Remote sources count by what they hold now: the download's digest, the commit a git ref points at.
          const parts: string[] = [];
          for (const src of step.sources) {
            // With --checksum the content is known without fetching it (BuildKit): a cache hit downloads nothing.
            if (isHttpUrl(src)) parts.push(step.checksum ?? (await downloads.get(src, undefined, signal)).digest);
            else if (isGitUrl(src)) parts.push(await gitRemoteCommit(src, signal));
            else parts.push(await opts.context.checksum(await opts.context.resolve([src])));
          }
          source = JSON.stringify(parts);
        } else {
          source = await opts.context.checksum(await opts.context.resolve(step.sources));
        }
        const addFlags = step.kind === 'ADD' ? [step.checksum, step.keepGitDir, step.unpack] : [];
        return [step.sources, step.dest, step.chown, step.chmod, step.contents, source, step.link, step.exclude, ...addFlags];
      }
      default:
        return step.original;
    }
  }

  async function executeStep(step: Step, state: StageState, id: string): Promise<StageState> {
    const history = (createdBy: string, layer?: LayerRef): ImageConfig =>
      cfg.withHistory(state.config, { created: createdTime(opts), created_by: createdBy, comment: 'rbuild' }, layer?.diffId);
    const withLayer = (layer: LayerRef | undefined, createdBy: string): StageState => ({
      ...state,
      config: history(createdBy, layer),
      layers: layer ? [...state.layers, layer] : state.layers,
    });
    const c = state.config;
    const edit = (config: ImageConfig): StageState => ({ ...state, config: cfg.withHistory(config, { created: createdTime(opts), created_by: step.original, comment: 'rbuild' }) });
    switch (step.kind) {
      case 'ENV':
        return edit(cfg.withEnv(c, step.env.map((kv) => [kv.key, kv.value])));
      case 'LABEL':
        return edit(cfg.withLabels(c, step.labels.map((kv) => [kv.key, kv.value])));
      case 'EXPOSE':
        return edit(cfg.withExposedPorts(c, step.ports));
      case 'VOLUME':
        return edit(cfg.withVolumes(c, step.volumes));
      case 'USER':
        return edit(cfg.withUser(c, step.user));
      case 'WORKDIR': {
        // As BuildKit: the directory is created (owned by USER) when missing, in a layer of its own,
        // so an image whose WORKDIR nothing writes into still has it.
        const next: StageState = { ...state, config: cfg.withWorkdir(c, step.path) };
        const layer = await withWritable(next, async (t) => {
          await prepareWorkdir(t, next);
        });
        return {
          ...next,
          config: cfg.withHistory(next.config, { created: createdTime(opts), created_by: step.original, comment: 'rbuild' }, layer?.diffId),
          layers: layer ? [...state.layers, layer] : state.layers,
        };
      }
      case 'ENTRYPOINT':
        return edit(cfg.withEntrypoint(c, shellWrap(c, step.cmd, step.prependShell)));
      case 'CMD':
        return edit(cfg.withCmd(c, shellWrap(c, step.cmd, step.prependShell)));
      case 'SHELL':
        return edit(cfg.withShell(c, step.shell));
      case 'STOPSIGNAL':
        return edit(cfg.withStopSignal(c, step.signal));
      case 'HEALTHCHECK':
        return edit(cfg.withHealthcheck(c, healthConfig(step)));
      case 'ONBUILD':
        return edit(cfg.withOnBuild(c, step.expression));
      case 'MAINTAINER':
        return edit({ ...c, author: step.maintainer });
      case 'ARG':
        return state;
      case 'RUN': {
        if (step.devices.length > 0) {
          throw new BuildError('UNSUPPORTED', `RUN --device is not supported (${step.devices.map((d) => d.name).join(', ')})`, 'remove --device: rootless builds cannot pass host devices');
        }
        const plan = planRunHeredoc(step.cmd, step.prependShell, step.files);
        const args = shellWrap(c, plan.cmd, step.prependShell);
        const layer = await withSnapshot(state, async (root) => runInSandbox(root, state, args, step, id, plan.script));
        return withLayer(layer, `RUN ${args.join(' ')} # rbuild`);
      }
      case 'COPY':
      case 'ADD': {
        if (step.link) {
          // --link: the files go into an empty snapshot, so the layer does not depend on what is below
          // (names in --chown and the workdir owner still come from the stage's /etc/passwd).
          const direct = await withLinkUnmounted(state, (t) => copyStep(t, state, step));
          if (direct !== FALLBACK) return withLayer(direct, `${step.original} # rbuild`);
          const layer = await withView(state.layers, async (below) => withEmptySnapshot(async (root) => copyStep(mountedTarget(root, below), state, step)));
          return withLayer(layer, `${step.original} # rbuild`);
        }
        // Unchanged files linked from the last run of this step (copy-reuse.ts); links only into an unmounted upper.
        const r = await openCopyReuse(step, { root: opts.root, parentKey: state.key, hashes: opts.context, lookup: !opts.noCache && !opts.noCacheFilter?.length, layerDirs: async () => (await deps.unmountedSnapshotter?.())?.snapshotter as Partial<LayerDirs> | undefined });
        const layer = await withWritable(state, async (t) => copyStep(t, state, step, r?.reuse.target(t.root, t.resolve !== undefined)));
        if (r && layer) r.save(chainIds([...state.layers, layer].map((l) => l.diffId)).at(-1)!);
        return withLayer(layer, `${step.original} # rbuild`);
      }
    }
  }

  async function prepareWorkdir(t: WriteTarget, state: StageState): Promise<string> {
    const wd = state.config.config?.WorkingDir || '/';
    if (t.locate) {
      // An existing workdir is only looked at (as on a mounted root): resolving it would copy it up.
      const found = t.locate(wd);
      if (found && (await lstat(found).catch(() => undefined))?.isDirectory()) return wd;
    }
    const owner = state.config.config?.User ? await workdirOwner(await t.userRoot(), state.config) : undefined;
    if (t.hostRoot && owner && (owner.uid !== 0 || owner.gid !== 0)) {
      // Only root's files can be written outside the namespace: fine while the directory exists.
      const st = await lstat(t.resolve ? t.resolve(wd, true) : resolveInRoot(t.root, wd)).catch(() => undefined);
      if (st?.isDirectory()) return wd;
      throw new NeedsNamespaceError();
    }
    await ensureDir(t.root, wd, hostOwner(t, owner ? { uid: owner.uid, gid: owner.gid } : undefined), t.resolve);
    return wd;
  }

  async function runInSandbox(root: string, state: StageState, args: string[], step: Extract<Step, { kind: 'RUN' }>, id: string, script?: { name: string; data: string }): Promise<void> {
    const cwd = await prepareWorkdir(mountedTarget(root), state);
    const user = await deps.resolveUser(root, state.config.config?.User ?? '');
    const env = new Map<string, string>();
    for (const [k, v] of state.args) env.set(k, v);
    for (const [k, v] of cfg.envMap(state.config)) env.set(k, v);
    if (!env.has('PATH')) env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    const prepared = await prepareRunMounts(step.mounts, cwd, {
      storeRoot: opts.root,
      contextDir: opts.context.dir,
      secrets: opts.secrets ?? new Map(),
      ssh: opts.ssh ?? new Map(),
      openFrom,
      fromKey: fromContentKey,
      context: opts.context,
    }, signal);
    for (const [k, v] of prepared.env) env.set(k, v);
    let created: string[] = [];
    let scriptDir: string | undefined;
    try {
      if (script) {
        // A shebang heredoc: an executable file outside the root, mounted where BuildKit puts it.
        scriptDir = join(opts.root, 'tmp', `heredoc-${randomBytes(6).toString('hex')}`);
        await mkdir(scriptDir, { recursive: true });
        await writeFile(join(scriptDir, 'script'), script.data, { mode: 0o755 });
        prepared.mounts.push({ type: 'bind', source: join(scriptDir, 'script'), target: `${PIPES_DIR}/${script.name}`, readonly: true });
      }
      created = await missingMountPoints(root, prepared.mounts.map((m) => m.target));
      await runPrepared(root, args, step, id, cwd, user, env, prepared.mounts);
    } finally {
      // Mount points made for this step must not show up in its layer.
      await removeMountPoints(root, created);
      await prepared.release();
      if (scriptDir) await rm(scriptDir, { recursive: true, force: true });
    }
  }

  async function runPrepared(
    root: string, args: string[], step: Extract<Step, { kind: 'RUN' }>, id: string,
    cwd: string, user: ResolvedUser, env: Map<string, string>, mounts: StepMount[],
  ): Promise<void> {
    const sandbox = await deps.sandbox();
    const tail: string[] = [];
    const keep = (s: string) => {
      for (const line of s.split('\n')) if (line !== '') tail.push(line);
      if (tail.length > 20) tail.splice(0, tail.length - 20);
    };
    const network = (step.network as BuildOptions['network'] | undefined) ?? opts.network;
    const res = await sandbox.run(
      {
        rootfs: root,
        args,
        env: [...env].map(([k, v]) => `${k}=${v}`),
        cwd,
        uid: user.uid,
        gid: user.gid,
        additionalGids: user.additionalGids,
        hostname: 'rbuild',
        network: network === 'default' ? 'host' : network,
        mounts,
        etcHosts: '127.0.0.1\tlocalhost rbuild\n::1\tlocalhost ip6-localhost ip6-loopback\n',
        resolvConf: await hostResolvConf(),
      },
      {
        stdout: (b) => { const s = b.toString(); keep(s); emit({ type: 'step-log', step: id, stream: 'stdout', data: s }); },
        stderr: (b) => { const s = b.toString(); keep(s); emit({ type: 'step-log', step: id, stream: 'stderr', data: s }); },
      },
      signal,
    );
    if (res.exitCode !== 0) throw new RunFailedError(step.prependShell ? step.cmd.join(' ') : JSON.stringify(step.cmd), res.exitCode, tail.slice(-5));
  }

  async function copyStep(t: WriteTarget, state: StageState, step: Extract<Step, { kind: 'COPY' | 'ADD' }>, reuse?: FileReuse): Promise<void> {
    const wd = await prepareWorkdir(t, state);
    const chown = step.chown ? await deps.resolveUser(await t.userRoot(), step.chown) : undefined;
    if (t.hostRoot && chown && (chown.uid !== 0 || chown.gid !== 0)) throw new NeedsNamespaceError();
    const owner = hostOwner(t, chown ? { uid: chown.uid, gid: chown.gid } : undefined);
    const chmod = step.chmod ? parseChmod(step.chmod) : undefined;
    const excluder = step.exclude.length > 0 ? createIgnoreMatcher(step.exclude) : undefined;
    const base: CopyOptions = {
      root: t.root, dest: step.dest, workdir: wd,
      ...(t.resolve ? { resolve: t.resolve } : {}),
      ...(owner ? { chown: owner } : {}),
      ...(chmod ? { chmod } : {}),
      ...(excluder ? { exclude: (rel: string) => excluder.matches(rel) } : {}),
    };
    const parents = step.kind === 'COPY' && step.parents;
    /** Copies resolved sources; with --parents each keeps its path below the destination. */
    const copyAll = async <S extends { rel: string; abs: string; stat: import('node:fs').Stats; pattern: string }>(tree: SourceTree<S>, sources: S[], o: CopyOptions): Promise<void> => {
      if (!parents) {
        await copyInto(tree, sources, o);
        return;
      }
      for (const src of sources) await copyInto(tree, [src], { ...o, dest: parentsDestination(src.pattern, src.rel, src.stat.isDirectory(), o.dest) });
    };
    if (step.contents.length > 0) {
      const tmp = join(opts.root, 'tmp', `inline-${randomBytes(6).toString('hex')}`);
      await mkdir(tmp, { recursive: true });
      try {
        for (const f of step.contents) await writeFile(join(tmp, f.path), f.data, { mode: 0o644 });
        const ctx = new BuildContext(tmp);
        await copyInto(ctx, await ctx.resolve(step.contents.map((f) => f.path)), base);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      return;
    }
    const from = step.kind === 'COPY' ? step.from : undefined;
    if (from) {
      const dep = resolveStageRef(from);
      const srcLayers = dep ? (await stageResult(dep.id)).layers : imageLayerRefs(await baseImage(from));
      await withView(srcLayers, async (srcRoot) => {
        const tree = new RootTree(srcRoot);
        await copyAll(tree, await tree.resolve(step.sources), { ...base, keepOwner: !chown });
      });
      return;
    }
    if (step.kind === 'ADD') {
      await addStep(t, step, reuse ? { ...base, reuse } : base);
      return;
    }
    const sources = await opts.context.resolve(step.sources);
    await copyAll(opts.context, sources, reuse ? { ...base, reuse } : base);
  }

  /** ADD from the context or the network: archives unpacked, URLs downloaded, git repositories cloned. */
  async function addStep(t: WriteTarget, step: Extract<Step, { kind: 'ADD' }>, base: CopyOptions): Promise<void> {
    const destAbs = step.dest.startsWith('/') ? step.dest : `${base.workdir}/${step.dest}`;
    const unpackInto = async (path: string, kind: ArchiveKind): Promise<void> => {
      // An archive's entries would meet the layers below unseen: unpack on a mounted root.
      if (t.resolve) throw new UnmountedFallback();
      await ensureDir(t.root, destAbs, base.chown);
      await extractArchive(path, kind, resolveInRoot(t.root, destAbs), base.chown, signal);
    };
    const plain: string[] = [];
    for (const src of step.sources) {
      if (isHttpUrl(src)) {
        const d = await downloads.get(src, step.checksum, signal);
        const kind = step.unpack === true ? await detectArchive(d.path) : undefined;
        if (kind) await unpackInto(d.path, kind);
        else {
          const ctx = new BuildContext(d.dir);
          await copyInto(ctx, await ctx.resolve([d.name]), base);
        }
      } else if (isGitUrl(src)) {
        const tmp = join(opts.root, 'tmp', `git-${randomBytes(6).toString('hex')}`);
        await mkdir(tmp, { recursive: true });
        try {
          await gitClone(src, join(tmp, 'repo'), { keepGitDir: step.keepGitDir, signal });
          const ctx = new BuildContext(tmp);
          // A repository is a directory source: its contents go into the destination.
          await copyInto(ctx, await ctx.resolve(['repo']), { ...base, dest: step.dest.endsWith('/') ? step.dest : `${step.dest}/` });
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
      } else {
        plain.push(src);
      }
    }
    if (plain.length === 0) return;
    const resolved = await opts.context.resolve(plain);
    const copies = [];
    for (const r of resolved) {
      const kind = step.unpack !== false && r.stat.isFile() ? await detectArchive(r.abs) : undefined;
      if (kind) await unpackInto(r.abs, kind);
      else copies.push(r);
    }
    if (copies.length > 0) await copyInto(opts.context, copies, base);
  }

  /** One layer for the stage's own changes: a snapshot of its base synced to its final file system. */
  async function squashState(state: StageState): Promise<StageState> {
    const key = cacheKey(state.key, 'SQUASH', []);
    const hit = await cache.get(key);
    if (hit) return { ...state, key, config: hit.config, layers: hit.layers };
    const base: StageState = { ...state, layers: state.layers.slice(0, state.baseLayers) };
    const { syncTree } = await import('./squash.js');
    const layer = await withView(state.layers, (finalRoot) => withSnapshot(base, async (root) => void (await syncTree(finalRoot, root, signal))));
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

  const target = byId.get(graph.target) ?? graph.stages[graph.stages.length - 1];
  if (!target) throw new BuildError('NO_STAGES', 'the Dockerfile has no stages');
  // Start every needed stage so that independent ones run in parallel.
  for (const s of graph.stages) void stageResult(s.id).catch(() => undefined);
  let handOver = false;
  try {
    let final = await stageResult(target.id);
    await opts.context.saveHashes();
    if (opts.squash && final.layers.length - final.baseLayers > 1) final = await squashState(final);
    if (opts.exportRoot) await withView(final.layers, opts.exportRoot);
    const image = await writeImage(deps.store, final, opts);
    return { ...image, executed: counts.executed, cached: counts.cached, cacheRecords: cache.touched, baseImageLayers };
  } catch (err) {
    // The build re-runs inside its namespace: what was downloaded for cache keys goes with it.
    handOver = err instanceof NeedsNamespaceError;
    throw err;
  } finally {
    await downloads.close(handOver);
  }
}

/** withUnmounted's "redo it mounted". */
const FALLBACK = Symbol('fallback');

/** A mounted root as a write target (ids are the build's own: this process is in the namespace). */
function mountedTarget(root: string, userRoot = root): WriteTarget {
  return { root, userRoot: async () => userRoot };
}

/** An owner as this process must write it: root's (or none given) is `hostRoot` outside the namespace. */
function hostOwner(t: WriteTarget, owner: { uid: number; gid: number } | undefined): { uid: number; gid: number } | undefined {
  if (!t.hostRoot) return owner;
  if (!owner || (owner.uid === 0 && owner.gid === 0)) return t.hostRoot;
  throw new NeedsNamespaceError();
}

/** The layers of an image as the build state tracks them. */
function imageLayerRefs(img: ResolvedImage): LayerRef[] {
  return img.manifest.layers.map((l, i) => ({
    mediaType: l.mediaType,
    digest: l.digest as `sha256:${string}`,
    size: l.size,
    diffId: img.config.rootfs.diff_ids[i] as `sha256:${string}`,
  }));
}

function healthConfig(step: Extract<Step, { kind: 'HEALTHCHECK' }>): HealthConfig {
  const h: HealthConfig = { Test: step.test };
  if (step.interval) h.Interval = step.interval;
  if (step.timeout) h.Timeout = step.timeout;
  if (step.startPeriod) h.StartPeriod = step.startPeriod;
  if (step.startInterval) h.StartInterval = step.startInterval;
  if (step.retries) h.Retries = step.retries;
  return h;
}

function createdTime(opts: BuildOptions): string {
  return opts.sourceDateEpoch !== undefined ? new Date(opts.sourceDateEpoch * 1000).toISOString() : new Date().toISOString();
}

function shellWrap(c: ImageConfig, args: string[], shellForm: boolean): string[] {
  if (!shellForm) return args;
  const shell = c.config?.Shell ?? ['/bin/sh', '-c'];
  return [...shell, args.join(' ')];
}

let resolvConfCache: string | undefined;
async function hostResolvConf(): Promise<string> {
  if (resolvConfCache === undefined) {
    const { readFile } = await import('node:fs/promises');
    resolvConfCache = await readFile('/etc/resolv.conf', 'utf8').catch(() => 'nameserver 1.1.1.1\n');
    // A loopback resolver of the host (systemd-resolved) is not reachable from a private network namespace.
    if (/^nameserver\s+127\./m.test(resolvConfCache)) resolvConfCache = resolvConfCache.replace(/^nameserver\s+127\.\S+/gm, 'nameserver 10.0.2.3');
  }
  return resolvConfCache;
}

/** Parses `--chmod` (octal, or symbolic like `u=rwx,go=rx`/`+x`) into a mode function. */
export function parseChmod(spec: string): (mode: number, isDir: boolean) => number {
  if (/^[0-7]{3,4}$/.test(spec)) {
    const m = parseInt(spec, 8);
    return () => m;
  }
  const clauses = spec.split(',');
  return (mode, isDir) => {
    let m = mode;
    for (const cl of clauses) {
      const match = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(cl);
      if (!match) throw new BuildError('BAD_CHMOD', `invalid --chmod ${JSON.stringify(spec)}`);
      const who = match[1] === '' || match[1]!.includes('a') ? 'ugo' : match[1]!;
      let bits = 0;
      for (const p of match[3]!) {
        for (const w of who) {
          const shift = w === 'u' ? 6 : w === 'g' ? 3 : 0;
          if (p === 'r') bits |= 4 << shift;
          if (p === 'w') bits |= 2 << shift;
          if (p === 'x' || (p === 'X' && (isDir || (mode & 0o111) !== 0))) bits |= 1 << shift;
          if (p === 's' && w === 'u') bits |= 0o4000;
          if (p === 's' && w === 'g') bits |= 0o2000;
          if (p === 't') bits |= 0o1000;
        }
      }
      let mask = 0;
      for (const w of who) mask |= w === 'u' ? 0o4700 : w === 'g' ? 0o2070 : 0o1007;
      if (match[2] === '+') m |= bits;
      else if (match[2] === '-') m &= ~bits;
      else m = (m & ~mask) | bits;
    }
    return m;
  };
}

async function writeImage(store: ContentStore, state: StageState, opts: BuildOptions): Promise<{ descriptor: Descriptor; manifest: Manifest; config: ImageConfig }> {
  const docker = opts.format === 'docker';
  // The image's creation time is its last step's: a fully cached rebuild gives the same image, byte for byte.
  const created = state.config.history?.at(-1)?.created ?? createdTime(opts);
  let config: ImageConfig = { ...state.config, created, architecture: opts.platform.architecture, os: opts.platform.os };
  if (opts.labels.length) config = cfg.withLabels(config, opts.labels);
  const annotations = opts.annotations?.length ? Object.fromEntries(opts.annotations) : undefined;
  config = { ...config, rootfs: { type: 'layers', diff_ids: state.layers.map((l) => l.diffId) } };
  const configDesc = await store.writeBytes(Buffer.from(JSON.stringify(config)), docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json');
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: configDesc.mediaType, digest: configDesc.digest, size: configDesc.size },
    layers: state.layers.map((l) => ({ mediaType: docker ? dockerLayerType(l.mediaType) : l.mediaType, digest: l.digest, size: l.size })),
    ...(annotations ? { annotations } : {}),
  };
  const descriptor = await store.writeBytes(Buffer.from(JSON.stringify(manifest)), manifest.mediaType!);
  return { descriptor, manifest, config };
}

function dockerLayerType(mt: string): string {
  if (mt.endsWith('+gzip') || mt.endsWith('.gzip')) return 'application/vnd.docker.image.rootfs.diff.tar.gzip';
  return mt;
}
