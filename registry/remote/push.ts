/**
 * Push: upload what the registry lacks (HEAD first, cross-repository mount
 * when possible), in parallel with a bounded pool and a once-per-digest
 * guard; config with the layers; manifests last (children of an index
 * before the index) so a tag never names an incomplete image. An index whose
 * children are not all here nor at the destination (a pull keeps only one
 * platform's) is pushed as the one platform manifest it has, as podman does.
 */
import { createReadStream } from 'node:fs';
import { Readable, Transform, pipeline } from 'node:stream';
import pLimit from 'p-limit';
import type { ContentStore } from '../content-store.js';
import type { Descriptor, Digest, Platform } from '../oci/types.js';
import { formatPlatform, hostPlatform, selectManifest } from '../oci/platform.js';
import { formatReference, parseReference, withTarget, type Reference } from '../reference.js';
import { createRegistryClient, type BlobProgress, type RegistryClient, type Repo } from './client.js';
import { RegistryError } from './errors.js';
import { bySizeDescending } from './schedule.js';
import { parseManifestOrIndex as parseManifest } from '../oci/validate.js';
import { compressImage, outgoingStore, type LayerMapper } from '../store/compress-image.js';
import type { CompressionChoice } from '../store/compressed-blobs.js';

/** Progress of a push, for the CLI to display. */
export type PushEvent =
  | { type: 'blob-exists'; digest: Digest; size: number }
  | { type: 'blob-mounted'; digest: Digest; size: number; from: string }
  | ({ type: 'blob-progress' } & BlobProgress)
  | { type: 'blob-done'; digest: Digest; size: number }
  | { type: 'manifest'; digest: Digest; reference: string }
  /** An index lacked some platforms' manifests, so only `platform`'s manifest was pushed. */
  | { type: 'partial-index'; digest: Digest; platform: string; missing: string[] };

/** Options for pushImage. */
export interface PushOptions {
  signal?: AbortSignal;
  onProgress?: (e: PushEvent) => void;
  /** Parallel blob uploads (default 4). */
  jobs?: number;
  /** Repositories on the same registry to try mounting blobs from (`library/debian`). */
  mountFrom?: readonly string[];
  /** The client to use (default: a fresh anonymous one, closed afterwards). */
  client?: RegistryClient;
  /** Blobs up to this size are PUT in one request (default: the client's MONOLITHIC_MAX / CHUNK_SIZE). */
  monolithicMax?: number;
  /** Chunk size of chunked uploads (default: the client's CHUNK_SIZE). */
  chunkSize?: number;
  /**
   * Push only this platform's manifest of an index (under the tag). Also the platform chosen when
   * an index cannot be pushed whole (default: the host's).
   */
  platform?: Platform;
  /**
   * Compress uncompressed layers before pushing (a manifest rewrite ahead of the upload; see
   * compress-image.ts). `layer` is CompressedBlobs.layer, which remembers what it compressed.
   */
  compress?: { choice: CompressionChoice; layer: LayerMapper };
}

/** What pushImage returns. */
export interface PushResult {
  /** Digest of the top manifest (what `name@digest` pulls). */
  digest: Digest;
  /** The reference pushed to. */
  reference: string;
  /** Size of the top manifest. */
  size: number;
  /** Media type of the top manifest (an index, or one platform's manifest). */
  mediaType: string;
}

/** Pushes the image (manifest or index) stored under `descriptor` to `ref`. */
export async function pushImage(
  store: ContentStore,
  descriptor: Descriptor,
  reference: string | Reference,
  opts: PushOptions = {},
): Promise<PushResult> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const client = opts.client ?? createRegistryClient();
  try {
    // The image as it leaves the machine: compressed layers, a rewritten manifest (same config).
    // Its manifests stay in memory (outgoingStore): the local store keeps only the compressed layers.
    const src = opts.compress ? outgoingStore(store) : store;
    const outgoing = opts.compress
      ? await compressImage(src, descriptor, opts.compress.choice, opts.compress.layer, opts.signal ? { signal: opts.signal } : {})
      : descriptor;
    const pusher = new Pusher(client, src, ref, opts);
    const pushed = await pusher.pushTop(outgoing, ref);
    return { digest: pushed.digest, reference: formatReference(ref), size: pushed.size, mediaType: pushed.mediaType };
  } finally {
    if (!opts.client) await client.close();
  }
}

class Pusher {
  private readonly limit;
  /** Once-per-digest guard: concurrent requests for one blob share one upload. */
  private readonly blobs = new Map<Digest, Promise<void>>();
  private readonly repo: Repo;

  constructor(
    private readonly client: RegistryClient,
    private readonly store: ContentStore,
    ref: Reference,
    private readonly opts: PushOptions,
  ) {
    this.limit = pLimit(opts.jobs ?? 4);
    this.repo = { registry: ref.registry, repository: ref.repository };
  }

  /**
   * Pushes the image under the tag: the whole index when every child is here or already
   * at the destination, else (or with opts.platform) the one platform's manifest.
   */
  async pushTop(desc: Descriptor, target: Reference): Promise<Descriptor> {
    const signal = this.opts.signal;
    const parsed = this.parse(await this.store.readBytes(desc.digest, signal), desc, target);
    if (parsed.kind !== 'index') {
      await this.pushManifest(desc, target);
      return desc;
    }
    const children = parsed.index.manifests;
    let missing: Descriptor[] = [];
    if (!this.opts.platform) {
      const absent = await Promise.all(children.map(async (c) => ((await this.store.stat(c.digest)) ? undefined : c)));
      missing = absent.filter((c): c is Descriptor => c !== undefined);
      // Children the destination already has (pushing back where it came from) need not be here.
      const atDest = await Promise.all(missing.map((c) => this.client.headManifest(withTarget(target, { digest: c.digest }), signal)));
      missing = missing.filter((_, i) => atDest[i] === undefined);
      if (missing.length === 0) {
        await this.pushManifest(desc, target);
        return desc;
      }
    }
    const present = [];
    for (const c of children) if (await this.store.stat(c.digest)) present.push(c);
    const want = this.opts.platform ?? hostPlatform();
    const chosen = selectManifest(present, want) ?? (this.opts.platform ? undefined : present.find((c) => c.platform && c.platform.os !== 'unknown'));
    if (!chosen) {
      const have = present.filter((c) => c.platform).map((c) => formatPlatform(c.platform!));
      throw new RegistryError({
        code: 'PLATFORM_NOT_FOUND', action: `pushing ${formatReference(target)}`, registry: target.registry,
        repository: target.repository, digest: desc.digest,
        detail: `the local image has no manifest for ${formatPlatform(want)} (it has: ${have.join(', ') || 'none'})`,
        hint: 'choose one of the platforms it has with --platform',
      });
    }
    if (missing.length > 0) {
      this.opts.onProgress?.({
        type: 'partial-index', digest: desc.digest, platform: formatPlatform(chosen.platform!),
        missing: missing.map((m) => (m.platform ? formatPlatform(m.platform) : m.digest)),
      });
    }
    await this.pushManifest(chosen, target);
    return chosen;
  }

  private parse(bytes: Buffer, desc: Descriptor, target: Reference): ReturnType<typeof parseManifest> {
    try {
      return parseManifest(bytes, desc.mediaType);
    } catch (err) {
      throw new RegistryError({
        code: 'MANIFEST_INVALID', action: `pushing ${formatReference(target)}`, registry: target.registry,
        repository: target.repository, digest: desc.digest, detail: (err as Error).message,
        hint: 'the local image is damaged; rebuild or pull it again', cause: err,
      });
    }
  }

  /** Pushes a manifest or index (children first) and returns its digest. */
  async pushManifest(desc: Descriptor, target: Reference): Promise<Digest> {
    const signal = this.opts.signal;
    const bytes = await this.store.readBytes(desc.digest, signal);
    const parsed = this.parse(bytes, desc, target);
    if (parsed.kind === 'index') {
      // Children by digest (those not here are at the destination already: pushTop checked), then the index under the tag.
      const here = await Promise.all(parsed.index.manifests.map(async (c) => ((await this.store.stat(c.digest)) ? c : undefined)));
      await Promise.all(here.filter((c): c is Descriptor => c !== undefined).map((child) => this.pushManifest(child, withTarget(target, { digest: child.digest }))));
    } else {
      const m = parsed.manifest;
      // Largest first: the pool's queue is FIFO, and a big layer queued last would run alone at the end
      // (8 x 64 MiB + 512 MiB: the 512 MiB blob is the critical path, so it should start at once).
      await Promise.all(bySizeDescending([m.config, ...m.layers]).map((b) => this.pushBlob(b)));
    }
    const mediaType = (parsed.kind === 'index' ? parsed.index.mediaType : parsed.manifest.mediaType) ?? desc.mediaType;
    const digest = await this.client.putManifest(target, bytes, mediaType, signal);
    if (digest !== desc.digest) {
      throw new RegistryError({
        code: 'DIGEST_MISMATCH', action: `pushing ${formatReference(target)}`, registry: target.registry,
        repository: target.repository, digest: desc.digest, detail: `stored manifest hashes to ${digest}`,
        hint: 'the local store is damaged; run rbuild prune or pull/build the image again',
      });
    }
    const reference = target;
    this.opts.onProgress?.({ type: 'manifest', digest, reference: formatReference(reference) });
    return digest;
  }

  private pushBlob(desc: Descriptor): Promise<void> {
    let p = this.blobs.get(desc.digest);
    if (!p) {
      p = this.limit(() => this.uploadOnce(desc));
      this.blobs.set(desc.digest, p);
    }
    return p;
  }

  private async uploadOnce(desc: Descriptor): Promise<void> {
    const { signal, onProgress } = this.opts;
    if (await this.client.hasBlob(this.repo, desc.digest, signal)) {
      onProgress?.({ type: 'blob-exists', digest: desc.digest, size: desc.size });
      return;
    }
    let location: string | undefined;
    for (const from of this.opts.mountFrom ?? []) {
      if (from === this.repo.repository) continue;
      const mounted = await this.client.mountBlob(this.repo, desc.digest, from, signal);
      if (mounted === true) {
        onProgress?.({ type: 'blob-mounted', digest: desc.digest, size: desc.size, from });
        return;
      }
      location = mounted;
      if (location) break;
    }
    await this.client.uploadBlob(this.repo, desc, (start, end) => this.openRange(desc.digest, start, end), {
      ...(signal && { signal }),
      ...(location && { location }),
      ...(this.opts.monolithicMax !== undefined && { monolithicMax: this.opts.monolithicMax }),
      ...(this.opts.chunkSize !== undefined && { chunkSize: this.opts.chunkSize }),
      ...(onProgress && { onProgress: (p: BlobProgress) => onProgress({ type: 'blob-progress', ...p }) }),
    });
    onProgress?.({ type: 'blob-done', digest: desc.digest, size: desc.size });
  }

  /** Bytes [start, end) of a stored blob: a file range when the store has files, else a skipped stream. */
  private async openRange(digest: Digest, start: number, end: number): Promise<Readable> {
    if (end <= start) return Readable.from([]);
    const path = this.store.blobPath?.(digest);
    if (path) return createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 });
    return sliceStream(await this.store.read(digest, this.opts.signal), start, end);
  }
}

/** Passes through only bytes [start, end) of a stream. */
function sliceStream(src: Readable, start: number, end: number): Readable {
  let pos = 0;
  const slicer = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const from = Math.max(0, start - pos);
      const to = Math.min(chunk.length, end - pos);
      pos += chunk.length;
      cb(null, to > from ? chunk.subarray(from, to) : undefined);
    },
  });
  return pipeline(src, slicer, () => undefined) as Readable;
}
