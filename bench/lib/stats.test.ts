import { describe, expect, it } from 'vitest';
import { ratio, summarize } from './stats.js';

describe('summarize', () => {
  it('gives median, min and max', () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(summarize([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(summarize([5])).toEqual({ median: 5, min: 5, max: 5 });
  });
  it('refuses an empty list', () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});

describe('ratio', () => {
  it('is rbuild over peer, or null when either is missing', () => {
    expect(ratio(1, 4)).toBe(0.25);
    expect(ratio(null, 4)).toBeNull();
    expect(ratio(1, undefined)).toBeNull();
    expect(ratio(1, 0)).toBeNull();
  });
});
