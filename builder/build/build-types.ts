/**
 * The executor's vocabulary: what it is given (graph, options, effects), what
 * it returns, and the state a stage carries from step to step.
 */
import type { ContentStore, ImageIndex } from '../../registry/content-store.js';
import type { Descriptor, ImageConfig, Manifest } from '../../registry/oci/types.js';
import type { LayerTap } from '../../registry/remote/pull.js';
import type { Snapshotter } from '../../snapshotter/snapshotter.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { CacheFallback, CacheRecord, LayerRef } from './cache.js';
import type { BuildContext } from './context.js';
import type { SecretSource } from './run-mounts.js';
import type { Instruction } from '../dockerfile/instructions.js';

/** An expanded instruction other than FROM: what the executor runs. */
export type Step = Exclude<Instruction, { kind: 'FROM' }>;

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
  /** Pulls the image into the local store; `tapLayer` also hands layers to another reader as they download. */
  pull(name: string, signal?: AbortSignal, hooks?: { tapLayer?: LayerTap }): Promise<ResolvedImage>;
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
  /** The FROM argument after expansion of global ARGs (the base stage's id when it names one). */
  from: string;
  /** The id of the stage FROM names, as the planner resolved it; absent: an image or scratch. */
  baseStage?: string;
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
  /** Compress layers at commit (default: uncompressed; see commit-compression.ts). */
  compressionFormat?: 'gzip' | 'zstd' | 'none';
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

/** Where a stage is after some of its steps: what the next step starts from. */
export interface StageState {
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
