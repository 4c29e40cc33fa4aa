/** `rbuild prune` as an unprivileged user: blobs and unpacked snapshots nothing references go; referenced ones stay. */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDirFor, TEST_USER, removeTempDirs } from '../support/unprivileged.js';
import { busybox, rbuild, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('rbuild prune', () => {
  let work: string;
  beforeAll(() => {
    work = tempDirFor(TEST_USER, 'rbuild-prune-');
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('keeps snapshots of images and cache records, removes them once nothing references them', async () => {
    const store = join(work, 'store');
    const ctx = join(work, 'ctx');
    writeContext(ctx, { Dockerfile: `FROM ${busybox()}\nRUN echo one > /one\nRUN echo two > /two\n` });
    const b = await rbuild(['build', '-t', 'prune/app:1', '--root', store, ctx]);
    expect(b.code).toBe(0);
    const chains = () => readdirSync(join(store, 'snapshots/by-chain')).length;
    expect(chains()).toBeGreaterThanOrEqual(3);
    const before = chains();
    const keep = await rbuild(['prune', '--root', store]);
    expect(keep.stderr).toBe('');
    expect(keep.code).toBe(0);
    expect(chains()).toBe(before);
    expect((await rbuild(['rmi', '--root', store, 'prune/app:1'])).code).toBe(0);
    // The pulled base is an image of the store too: its snapshot stays until it goes.
    const cacheOnly = await rbuild(['prune', '--all', '--root', store]);
    expect(cacheOnly.code).toBe(0);
    expect(chains()).toBe(1);
    expect((await rbuild(['rmi', '--root', store, busybox()])).code).toBe(0);
    const all = await rbuild(['prune', '--all', '--root', store]);
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/deleted snapshot: sha256:/);
    expect(chains()).toBe(0);
    expect(readdirSync(join(store, 'snapshots/tmp'))).toEqual([]);
  });
});
