import { mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { copyDriver } from './drivers/copy.js';
import { SnapshotStore } from './store.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const id = (c: string) => `sha256:${c.repeat(64)}` as const;

describe('SnapshotStore.prune', () => {
  it('removes committed and flattened snapshots not kept, sparing active lowers and new commits', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rbuild-snprune-'));
    roots.push(root);
    const store = new SnapshotStore(root, copyDriver);
    const old = new Date(Date.now() - 3600_000);
    const commit = (c: string, parent?: string, when = old) => {
      const d = join(store.dir, 'by-chain', c.repeat(64));
      mkdirSync(join(d, 'fs'), { recursive: true });
      writeFileSync(join(d, 'fs', 'f'), c);
      writeFileSync(join(d, 'meta.json'), JSON.stringify({ chainId: id(c), parent: parent ? id(parent) : undefined }));
      utimesSync(d, when, when);
    };
    commit('a');
    commit('b', 'a');
    commit('c');
    commit('d', 'c');
    commit('e', undefined, new Date(Date.now() + 60_000));
    mkdirSync(join(store.dir, 'flat', 'f'.repeat(64), 'fs'), { recursive: true });
    utimesSync(join(store.dir, 'flat', 'f'.repeat(64)), old, old);
    // A running build stands on d (and so c).
    const active = await store.prepare('build-1', id('d'));
    const removed = await store.prune(new Set([id('a'), id('b')]));
    expect(removed.sort()).toEqual([]);
    expect(readdirSync(join(store.dir, 'flat'))).toEqual([]);
    await store.remove(active.key);
    expect((await store.prune(new Set([id('b')]))).sort()).toEqual([id('a'), id('c'), id('d')].sort());
    expect(readdirSync(join(store.dir, 'by-chain')).sort()).toEqual(['b'.repeat(64), 'e'.repeat(64)]);
    expect(await store.exists(id('a'))).toBe(false);
    expect(readdirSync(join(store.dir, 'tmp'))).toEqual([]);
  });
});
