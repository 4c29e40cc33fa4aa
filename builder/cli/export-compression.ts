/**
 * Compression of layers as images leave the machine, wired for the CLI: the store's remembered
 * compressed blobs (registry/store/compressed-blobs.ts) with the snapshotter's parallel libdeflate
 * / zstd compressor, which registry cannot import itself.
 */
import type { CompressionChoice, CompressedBlobs } from '../../registry/store/compressed-blobs.js';
import type { ContentStore } from '../../registry/content-store.js';
import type { Descriptor, Manifest } from '../../registry/oci/types.js';
import type { OciLayoutStore } from '../../registry/store/oci-layout-store.js';
import { UsageError } from './errors.js';

/** The store's compressed blobs with the fast compressor (loaded on first use). */
export async function openCompressedBlobs(store: OciLayoutStore): Promise<CompressedBlobs> {
  const [{ CompressedBlobs, compressedBlobsDir }, { compressStream }] = await Promise.all([
    import('../../registry/store/compressed-blobs.js'),
    import('../../snapshotter/compress.js'),
  ]);
  return new CompressedBlobs(store, compressedBlobsDir(store.root), store.tmpDir, compressStream);
}

/** The push options that compress uncompressed layers with `choice`. */
export function pushCompression(blobs: CompressedBlobs, choice: CompressionChoice): { compress: { choice: CompressionChoice; layer: CompressedBlobs['layer'] } } {
  return { compress: { choice, layer: (l, c, s) => blobs.layer(l, c, s) } };
}

/**
 * What an OCI archive (--output type=oci, `rbuild save --format oci`) writes for an image: its
 * uncompressed layers gzip-compressed (remembered like a push's), as BuildKit's oci exporter and
 * containers/image's oci: destination do. Docker archives keep plain tars, as `docker save` does.
 */
export async function ociArchivePublisher(
  store: OciLayoutStore,
  choice: CompressionChoice = { format: 'gzip' },
): Promise<(d: Descriptor, into: ContentStore, signal?: AbortSignal) => Promise<Descriptor>> {
  const [blobs, { compressImage }] = await Promise.all([openCompressedBlobs(store), import('../../registry/store/compress-image.js')]);
  // Compressed layers go into the store (remembered); the rewritten manifests `into` the archive's view.
  return (d, into, signal) => compressImage(into, d, choice, (l, c, s) => blobs.layer(l, c, s), signal ? { signal } : {});
}

/**
 * The built image with its uncompressed layers replaced by their `choice` forms. A build given a
 * compression commits compressed layers, but a cache hit may hand back a plain tar that a build
 * without the flag committed: the image is mapped at the end, as a push maps it (each layer
 * compressed once and remembered). Layers already compressed (a pulled base) stay as they are.
 * Returns `image` itself when no layer is a plain tar (a rebuild with the flag loads nothing more).
 */
export async function compressBuiltImage<T extends { descriptor: Descriptor; manifest: Manifest }>(
  store: OciLayoutStore,
  image: T,
  choice: CompressionChoice,
  signal?: AbortSignal,
): Promise<T> {
  // Plain tars end in `.tar` (OCI, OCI non-distributable, Docker's `diff.tar`); compressImage decides exactly.
  if (!image.manifest.layers.some((l) => l.mediaType.endsWith('.tar'))) return image;
  const [blobs, { compressImage }] = await Promise.all([openCompressedBlobs(store), import('../../registry/store/compress-image.js')]);
  const descriptor = await compressImage(store, image.descriptor, choice, (l, c, s) => blobs.layer(l, c, s), signal ? { signal } : {});
  if (descriptor.digest === image.descriptor.digest) return image;
  const manifest = JSON.parse((await store.readBytes(descriptor.digest, signal)).toString('utf8')) as Manifest;
  return { ...image, descriptor, manifest };
}

/** Parses `--compression-format` / `--compression-level` of an exit point (default gzip, the format's level). */
export function parseCompressionChoice(format: unknown, level: unknown): CompressionChoice {
  const f = format === undefined ? 'gzip' : String(format);
  if (f !== 'gzip' && f !== 'zstd') throw new UsageError(`--compression-format must be gzip or zstd, not ${JSON.stringify(f)}`);
  if (level === undefined) return { format: f };
  const n = Number(level);
  const max = f === 'gzip' ? 9 : 19;
  if (!Number.isInteger(n) || n < (f === 'gzip' ? 0 : 1) || n > max) {
    throw new UsageError(`--compression-level for ${f} must be a whole number from ${f === 'gzip' ? 0 : 1} to ${max}, not ${JSON.stringify(level)}`);
  }
  return { format: f, level: n };
}
