/**
 * How a build commits its layers. By default uncompressed (`application/vnd.oci.image.layer.v1.tar`,
 * digest = diff ID), as buildah (`bud` disables compression) and Docker's classic store do: the
 * commit is on the build's critical path, and gzip costs ~4-5 s per 512 MiB on two cores. Layers
 * are compressed when the image leaves the machine (push, cache export, OCI archive). Asking for a
 * format or a level on the build (`--compression-format`, `--compression-level`) compresses at commit.
 */
import { MediaType } from '../../registry/oci/types.js';
import type { DiffOptions } from '../../snapshotter/snapshotter.js';

/** The commit-compression options of a build. */
export interface CommitCompressionOptions {
  /** --compression-format given to the build: compress at commit. */
  compressionFormat?: 'gzip' | 'zstd' | 'none';
  /** --compression-level given to the build: gzip at commit unless a format says otherwise. */
  compressionLevel?: number;
  sourceDateEpoch?: number;
}

/** The snapshotter's diff options for a build's layers. */
export function commitDiffOptions(opts: CommitCompressionOptions): DiffOptions {
  const compression = opts.compressionFormat ?? (opts.compressionLevel !== undefined ? 'gzip' : 'none');
  return {
    compression,
    ...(compression !== 'none' && opts.compressionLevel !== undefined ? { level: opts.compressionLevel } : {}),
    ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
  };
}

/** A layer media type as a Docker schema2 manifest names it. */
export function dockerLayerType(mt: string): string {
  if (mt.endsWith('+gzip') || mt.endsWith('.gzip')) return MediaType.dockerLayerGzip;
  if (mt === MediaType.ociLayer) return MediaType.dockerLayer;
  return mt;
}
