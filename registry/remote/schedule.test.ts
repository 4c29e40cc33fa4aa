import { describe, expect, it } from 'vitest';
import { bySizeDescending } from './schedule.js';

describe('bySizeDescending', () => {
  it('puts the largest first and keeps the order of equal sizes', () => {
    const blobs = [{ id: 'a', size: 64 }, { id: 'b', size: 64 }, { id: 'c', size: 512 }, { id: 'cfg', size: 1 }];
    expect(bySizeDescending(blobs).map((b) => b.id)).toEqual(['c', 'a', 'b', 'cfg']);
    expect(blobs.map((b) => b.id)).toEqual(['a', 'b', 'c', 'cfg']);
  });
});
