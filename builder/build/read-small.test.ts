import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSmallFile } from './read-small.js';

describe('readSmallFile', () => {
  it('reads a file of the expected size, and one that shrank or grew since it was listed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'small-'));
    const p = join(dir, 'f');
    writeFileSync(p, 'hello');
    expect(readSmallFile(p, 5).toString()).toBe('hello');
    expect(readSmallFile(p, 9).toString()).toBe('hello');
    expect(readSmallFile(p, 2).toString()).toBe('hello');
    writeFileSync(p, '');
    expect(readSmallFile(p, 0).length).toBe(0);
    const big = Buffer.alloc(200_000, 3);
    writeFileSync(p, big);
    expect(readSmallFile(p, big.length).equals(big)).toBe(true);
    expect(readSmallFile(p, 10).equals(big)).toBe(true);
  });
});
