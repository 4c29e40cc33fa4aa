import type { Stats } from 'node:fs';
import type { Readable } from 'node:stream';

/** A sha256 digest string (`sha256:<hex>`); snapshotter does not import registry's types. */
export type Digest = `sha256:${string}`;

/** Mount drivers, fastest first. */
export type DriverName = 'overlay' | 'fuse-overlayfs' | 'copy';

/** Where a layer blob can be written: structurally a subset of registry's ContentStore. */
export interface BlobSink {
  write(
    data: Readable | AsyncIterable<Uint8Array>,
    expected?: { digest?: string; size?: number },
    signal?: AbortSignal,
  ): Promise<{ digest: string; size: number }>;
}

/** A layer to extract: its identity in the chain and a way to open its (compressed) bytes. */
export interface UnpackLayer {
  /** chainID of the snapshot to create (see chain-id.ts). */
  chainId: Digest;
  /** chainID of the snapshot below it; undefined for the first layer. */
  parent?: Digest;
  /** sha256 of the uncompressed tar; verified while extracting. */
  diffId: Digest;
  /** The blob's media type (decides decompression). */
  mediaType: string;
  /** Opens the blob's bytes. */
  open(): Promise<Readable>;
}

/** Options for turning changes into a layer. */
export interface DiffOptions {
  compression: 'gzip' | 'zstd' | 'none';
  /** Compression level; the format's default when omitted. */
  level?: number;
  /** Clamp every mtime to this many seconds since the epoch (reproducible builds). */
  sourceDateEpoch?: number;
}

/** The layer a diff produced. */
export interface LayerInfo {
  mediaType: string;
  /** sha256 of the compressed blob as stored. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar. */
  diffId: Digest;
}

/** A mounted snapshot: `root` is the directory that holds its file system. */
export interface ActiveSnapshot {
  key: string;
  root: string;
  readonly: boolean;
}

/** A merged path of a lower chain: the layer file that provides it and its lstat. */
export interface LowerEntry {
  abs: string;
  st: Stats;
}

/** Read access to a committed chain without a mount (whiteouts and opaque directories honoured). */
export interface LowerLookup {
  /** The merged entry at `rel` (relative, no leading `/`; not `''`), or undefined when absent. */
  lookup(rel: string): LowerEntry | undefined;
}

/**
 * A writable snapshot that is not mounted: the caller writes the new layer's
 * content straight into `upper` in overlay form (directories it writes into
 * copied up from `lower` first, as overlayfs would), then diffs and commits
 * it by key like a mounted one. Needs no namespace when only the caller's own
 * ids are written.
 */
export interface UnmountedSnapshot {
  key: string;
  /** The empty upper directory (its root has the lower root's owner and mode). */
  upper: string;
  lower: LowerLookup;
}

/** Something worth telling the user about an extraction (skipped device nodes, ...). */
export interface UnpackReport {
  warnings: string[];
}

/**
 * Layered file systems for builds. Must be used inside the build's user
 * namespace (or as real root): extraction writes real owners, mounts need
 * CAP_SYS_ADMIN there. Committed snapshots are keyed by chain ID and shared
 * by every build using the store; active ones by a caller-chosen key.
 */
export interface Snapshotter {
  readonly driver: DriverName;
  /** Whether a committed snapshot exists for a chain ID. */
  exists(chainId: Digest): Promise<boolean>;
  /** Extracts a layer on top of its parent into a committed snapshot; idempotent; refuses hostile entries. */
  unpack(layer: UnpackLayer, signal?: AbortSignal): Promise<UnpackReport>;
  /** A writable snapshot on top of `parent` (empty when undefined), mounted at the returned root. */
  prepare(key: string, parent: Digest | undefined, signal?: AbortSignal): Promise<ActiveSnapshot>;
  /**
   * Like prepare, without mounting (see UnmountedSnapshot); usable outside the build
   * namespace. Optional: a snapshotter without it makes callers use prepare.
   */
  prepareUnmounted?(key: string, parent: Digest | undefined, signal?: AbortSignal): Promise<UnmountedSnapshot>;
  /** A read-only mounted view of a committed chain. */
  view(key: string, parent: Digest | undefined, signal?: AbortSignal): Promise<ActiveSnapshot>;
  /** Writes an active snapshot's changes as one layer into `sink`; null when nothing changed. */
  diff(key: string, sink: BlobSink, options: DiffOptions, signal?: AbortSignal): Promise<LayerInfo | null>;
  /** Keeps an active snapshot's changes as the committed snapshot `chainId` (after diff), then forgets the key. */
  commit(key: string, chainId: Digest, signal?: AbortSignal): Promise<void>;
  /** Unmounts and deletes an active snapshot or view; no-op when absent. */
  remove(key: string): Promise<void>;
}
