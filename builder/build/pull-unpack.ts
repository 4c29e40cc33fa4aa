/**
 * Extraction of a base image's layers while they download: the pull hands each
 * layer's bytes to the snapshotter too, so a cold build does not wait for the
 * whole blob and then read it back. Only a layer whose parent is unpacked can
 * go this way; the others are extracted from the store afterwards, as before.
 */
import { Readable } from 'node:stream';
import type { LayerTap } from '../../registry/remote/pull.js';
import { chainIds } from '../../snapshotter/chain-id.js';
import type { Digest, Snapshotter } from '../../snapshotter/snapshotter.js';

/**
 * A pull tap unpacking each layer into `snap` as it streams. The snapshot appears under its chain ID
 * only after the whole stream was read and verified (digest by the pull's stream, diff ID by unpack);
 * on any failure its staging directory is removed.
 */
export function unpackWhilePulling(snap: Snapshotter): LayerTap {
  return async (layer, index, config) => {
    const diffIds = config.rootfs.diff_ids as Digest[];
    if (index >= diffIds.length) return undefined;
    const chains = chainIds(diffIds.slice(0, index + 1));
    const parent = index > 0 ? chains[index - 1] : undefined;
    if (await snap.exists(chains[index]!)) return undefined;
    // A layer cannot wait for its parent's extraction while holding its download paused.
    if (parent !== undefined && !(await snap.exists(parent))) return undefined;
    return (body, signal) =>
      snap.unpack({ chainId: chains[index]!, ...(parent && { parent }), diffId: diffIds[index]!, mediaType: layer.mediaType, open: async () => Readable.from(coalesce(body)) }, signal);
  };
}

/** Gathered size of the pieces handed to decompression: what a read of the stored blob gives. */
const PIECE = 1 << 20;

/**
 * The socket's pieces (16-64 KiB) gathered into 1 MiB ones: gunzip then emits full 256 KiB chunks
 * and the tar parser and file writes see few large pieces, as when the blob is read from the store
 * (small pieces cost about a quarter more CPU over a whole extraction). Errors pass through.
 */
export async function* coalesce(src: AsyncIterable<Uint8Array>, size = PIECE): AsyncGenerator<Buffer> {
  let parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of src) {
    parts.push(c);
    n += c.byteLength;
    if (n >= size) {
      yield Buffer.concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n > 0) yield Buffer.concat(parts, n);
}
