/**
 * An image as it leaves the machine: its manifest (and, for an index, each
 * child manifest stored here) rewritten so that uncompressed layers are
 * replaced by their compressed forms. The config is unchanged (diff_ids name
 * the uncompressed tars either way), so the image ID stays; the manifest
 * digest changes, as it does with `docker push` and `buildah push`. The new
 * manifests are written to whatever store is given: callers give an
 * outgoingStore, so that they stay in memory and leave no garbage behind.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { ContentStore } from '../content-store.js';
import type { Descriptor, Digest } from '../oci/types.js';
import { parseManifestOrIndex } from '../oci/validate.js';
import type { CompressionChoice, CompressStore } from './compressed-blobs.js';

/** Maps one layer descriptor to the one to publish (CompressedBlobs.layer). */
export type LayerMapper = (layer: Descriptor, choice: CompressionChoice, signal?: AbortSignal) => Promise<Descriptor>;

/** Options for compressImage. */
export interface CompressImageOptions {
  /** Layers compressed at once (each already uses every core for gzip; 2 keeps small layers overlapping). */
  jobs?: number;
  signal?: AbortSignal;
}

type Json = Record<string, unknown>;

/**
 * Replaces the layer descriptors of a manifest document (raw JSON, unknown fields kept) by
 * `mapped` (same order); returns undefined when nothing changed.
 */
export function rewriteLayers(manifest: Json, mapped: readonly Descriptor[]): Json | undefined {
  const layers = manifest.layers as Json[];
  let changed = false;
  const next = layers.map((l, i) => {
    const m = mapped[i]!;
    if (m.digest === l.digest && m.mediaType === l.mediaType) return l;
    changed = true;
    return { ...l, mediaType: m.mediaType, digest: m.digest, size: m.size };
  });
  return changed ? { ...manifest, layers: next } : undefined;
}

/**
 * The descriptor to publish for the image stored under `desc`: `desc` itself when no layer needs
 * compressing, else a rewritten manifest (or index of rewritten children) stored in `store`.
 * Children of an index that are not stored here are left as they are.
 */
export async function compressImage(
  store: ContentStore,
  desc: Descriptor,
  choice: CompressionChoice,
  mapLayer: LayerMapper,
  opts: CompressImageOptions = {},
): Promise<Descriptor> {
  const { signal } = opts;
  const limit = pLimit(opts.jobs ?? 2);
  const bytes = await store.readBytes(desc.digest, signal);
  const doc = parseManifestOrIndex(bytes, desc.mediaType); // validates before we rewrite it
  const raw = JSON.parse(bytes.toString('utf8')) as Json;
  let next: Json | undefined;
  if (doc.kind === 'index') {
    const children = raw.manifests as Json[];
    const mapped = await Promise.all(
      doc.index.manifests.map(async (c) => ((await store.stat(c.digest)) ? compressImage(store, c, choice, mapLayer, opts) : c)),
    );
    if (mapped.some((m, i) => m.digest !== doc.index.manifests[i]!.digest)) {
      next = { ...raw, manifests: children.map((c, i) => ({ ...c, digest: mapped[i]!.digest, size: mapped[i]!.size })) };
    }
  } else {
    const mapped = await Promise.all(doc.manifest.layers.map((l) => limit(() => mapLayer(l, choice, signal))));
    next = rewriteLayers(raw, mapped);
  }
  if (!next) return desc;
  const written = await store.writeBytes(Buffer.from(JSON.stringify(next)), desc.mediaType, signal);
  return { ...desc, digest: written.digest, size: written.size };
}

/**
 * `store` with manifests written to memory (everything else passes through): the rewritten
 * manifests of an outgoing image live as long as the push or archive that needs them.
 */
export function outgoingStore(store: CompressStore): CompressStore {
  const mem = new Map<string, Buffer>();
  const fromMem = (d: Digest): Readable | undefined => (mem.has(d) ? Readable.from([mem.get(d)!]) : undefined);
  return {
    stat: async (d) => (mem.has(d) ? { size: mem.get(d)!.length } : store.stat(d)),
    read: async (d, s) => fromMem(d) ?? store.read(d, s),
    ...(store.readVerified ? { readVerified: async (d: Digest, s?: AbortSignal) => fromMem(d) ?? store.readVerified!(d, s) } : {}),
    readBytes: async (d, s) => mem.get(d) ?? store.readBytes(d, s),
    write: (data, expected, s) => store.write(data, expected, s),
    async writeBytes(bytes, mediaType) {
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
      mem.set(digest, Buffer.from(bytes));
      return { mediaType, digest, size: bytes.byteLength };
    },
    ...(store.blobPath ? { blobPath: (d: Digest) => store.blobPath!(d) } : {}),
  };
}
