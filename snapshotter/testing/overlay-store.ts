/** Test helper: overlay snapshot stores with plain-tar layers (makeTar entries) unpacked as one chain. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { nextChainId } from '../chain-id.js';
import { createSnapshotter } from '../create.js';
import type { Digest, UnpackLayer } from '../snapshotter.js';
import { makeTar, type MakeTarEntry } from './make-tar.js';

/** The sha256 digest of bytes. */
export const sha256Of = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The unpack source of a plain tar of `entries` on top of `parent` (none: a first layer). */
export function tarLayer(entries: MakeTarEntry[], parent?: Digest): UnpackLayer {
  const t = makeTar(entries);
  const diffId = sha256Of(t);
  return {
    chainId: nextChainId(parent, diffId), diffId, mediaType: 'application/vnd.oci.image.layer.v1.tar', open: async () => Readable.from([t]),
    ...(parent !== undefined ? { parent } : {}),
  };
}

/** An overlay store in `root` with `layers` unpacked in order; `parent` is the chain ID of the top one. */
export async function overlayStoreWith(root: string, layers: MakeTarEntry[][]) {
  const s = await createSnapshotter({ root, driver: 'overlay' });
  let parent: Digest | undefined;
  for (const entries of layers) {
    const l = tarLayer(entries, parent);
    await s.unpack(l);
    parent = l.chainId;
  }
  return { root, s, parent: parent! };
}
