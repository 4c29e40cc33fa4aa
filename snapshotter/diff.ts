/** Changes -> tar -> compressed blob in a sink, in one streaming pass. */
import { changesFromUpper, type Change } from './changes.js';
import { compressAndDigest } from './compress.js';
import { layerTar } from './layer-tar.js';
import type { BlobSink, DiffOptions, LayerInfo } from './snapshotter.js';

/** Writes `changes` as one layer into `sink`; null when there are none (an `empty_layer` step). */
export async function diffToLayer(changes: readonly Change[], sink: BlobSink, options: DiffOptions, signal?: AbortSignal): Promise<LayerInfo | null> {
  if (changes.length === 0) return null;
  const tarOpts = options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: options.sourceDateEpoch };
  const c = options.level === undefined ? { compression: options.compression } : { compression: options.compression, level: options.level };
  return compressAndDigest(layerTar(changes, tarOpts, signal), sink, c, signal);
}

/**
 * A layer holding the tree under `dir` as it is (owners, modes, xattrs; a
 * directory in overlay form is read as an upper dir), without any mount:
 * for builders that stage files themselves (COPY --link, ADD of an archive).
 */
export async function layerFromDirectory(dir: string, sink: BlobSink, options: DiffOptions, signal?: AbortSignal): Promise<LayerInfo | null> {
  return diffToLayer(changesFromUpper(dir, signal), sink, options, signal);
}
