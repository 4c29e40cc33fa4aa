/** Chain IDs of layer stacks, as the OCI image spec defines them. */
import { createHash } from 'node:crypto';
import type { Digest } from './snapshotter.js';

/**
 * ChainID(L0) = DiffID(L0); ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)).
 * Returns one chain ID per prefix of `diffIds` (so `[i]` names the snapshot of layers 0..i).
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : nextChainId(prev, d));
  }
  return out;
}

/** The chain ID of `diffId` stacked on the chain `parent` (the first layer's chain ID is its diff ID). */
export function nextChainId(parent: Digest | undefined, diffId: Digest): Digest {
  if (parent === undefined) return diffId;
  return `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`;
}

/** The chain ID of a whole stack; undefined for no layers. */
export function chainId(diffIds: readonly Digest[]): Digest | undefined {
  return chainIds(diffIds).at(-1);
}
