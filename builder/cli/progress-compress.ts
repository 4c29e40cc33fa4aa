/**
 * Compression ahead of a push, made visible: layers are stored uncompressed and
 * gzip runs at about 40-75 MB/s here, so a big new layer can keep a push silent
 * for seconds. A layer whose compression is still running after `delayMs` is
 * announced (`compressing`, then `compressed`); remembered ones return at once
 * and say nothing.
 */
import type { BlobEvent } from '../build/events.js';
import type { Descriptor } from '../../registry/oci/types.js';
import type { CompressionChoice } from '../../registry/store/compressed-blobs.js';

type LayerMapper = (layer: Descriptor, choice: CompressionChoice, signal?: AbortSignal) => Promise<Descriptor>;

/** Push options (pushCompression's) whose layer mapper reports slow compressions to `sink`, as blobs of the push of `ref`. */
export function reportCompression<T extends { compress: { choice: CompressionChoice; layer: LayerMapper } }>(
  opts: T,
  ref: string,
  sink: (e: BlobEvent) => void,
  delayMs = 300,
  now: () => number = Date.now,
): T {
  const { layer } = opts.compress;
  const event = (l: Descriptor, status: 'compressing' | 'compressed', to?: Descriptor, ms?: number): BlobEvent => ({
    type: 'blob', action: 'push', ref, digest: l.digest, status, current: to ? l.size : 0, total: l.size,
    ...(to && { to: { digest: to.digest, size: to.size } }), ...(ms !== undefined && { ms }),
  });
  const reporting: LayerMapper = async (l, choice, signal) => {
    const started = now();
    let announced = false;
    const timer = setTimeout(() => {
      announced = true;
      sink(event(l, 'compressing'));
    }, delayMs);
    try {
      const out = await layer(l, choice, signal);
      if (announced) sink(event(l, 'compressed', out, now() - started));
      return out;
    } finally {
      clearTimeout(timer);
    }
  };
  return { ...opts, compress: { ...opts.compress, layer: reporting } };
}
