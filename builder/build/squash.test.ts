import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, existsSync, symlinkSync, writeFileSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syncTree } from './squash.js';

describe('syncTree', () => {
  it('changes only what differs', async () => {
    const src = mkdtempSync(join(tmpdir(), 'sq-src-'));
    const dst = mkdtempSync(join(tmpdir(), 'sq-dst-'));
    for (const root of [src, dst]) {
      mkdirSync(join(root, 'keep'));
      writeFileSync(join(root, 'keep/same.txt'), 'same');
      utimesSync(join(root, 'keep/same.txt'), 1000, 1000);
      utimesSync(join(root, 'keep'), 1000, 1000);
    }
    writeFileSync(join(dst, 'gone.txt'), 'x');
    writeFileSync(join(src, 'new.txt'), 'new');
    symlinkSync('new.txt', join(src, 'link'));
    const before = statSync(join(dst, 'keep/same.txt')).ino;
    await syncTree(src, dst);
    expect(existsSync(join(dst, 'gone.txt'))).toBe(false);
    expect(readFileSync(join(dst, 'new.txt'), 'utf8')).toBe('new');
    expect(readlinkSync(join(dst, 'link'))).toBe('new.txt');
    expect(statSync(join(dst, 'keep/same.txt')).ino).toBe(before);
    expect(await syncTree(src, dst)).toBe(0); // nothing left to change (the roots themselves are not compared)
  });
});
