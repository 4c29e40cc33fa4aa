// Unmounted snapshots: prepareUnmounted, the UpperWriter's copy-up and undo,
// and a store used outside the build namespace (hostRoot ids written as 0:0).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../test/support/unprivileged.js';
import { nextChainId } from './chain-id.js';
import { openUnmountedSnapshotter } from './create.js';
import { fileSink } from './testing/file-sink.js';
import type { MakeTarEntry } from './testing/make-tar.js';
import { overlayStoreWith, tarLayer } from './testing/overlay-store.js';
import { UpperWriter } from './upper-writer.js';

afterAll(removeTempDirs);
const storeWith = (entries: MakeTarEntry[]) => overlayStoreWith(tempDir('rbuild-uw-'), [entries]);

const base: MakeTarEntry[] = [
  { path: 'a', type: 'dir' },
  { path: 'a/b', type: 'dir' },
  { path: 'a/b/file', body: 'lower' },
  { path: 'loop', type: 'symlink', linkname: 'loop' },
  { path: 'up', type: 'symlink', linkname: '../../a' },
];

const tree = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const n of fs.readdirSync(join(dir, rel)).sort()) {
      const r = rel === '' ? n : `${rel}/${n}`;
      out.push(r);
      if (fs.lstatSync(join(dir, r)).isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
};

describe('UpperWriter', () => {
  it('copies up what a path needs and undoes what nothing changed', async () => {
    const { s, parent } = await storeWith(base);
    const u = await s.prepareUnmounted('k', parent);
    const w = new UpperWriter(u.upper, u.lower);
    expect(w.resolve('/a/b/file', false)).toBe(join(u.upper, 'a/b/file'));
    // Parents copied up, the file itself linked up as a placeholder that lstat sees.
    expect(tree(u.upper)).toEqual(['a', 'a/b', 'a/b/file']);
    expect(fs.readFileSync(join(u.upper, 'a/b/file'), 'utf8')).toBe('lower');
    // `..` never leaves the root; symlinks resolve inside it.
    expect(w.resolve('/up/b/new')).toBe(join(u.upper, 'a/b/new'));
    expect(w.locate('/up/b/file')).toBe(join(u.upper, 'a/b/file'));
    expect(w.locate('/missing/x')).toBeUndefined();
    w.finish();
    expect(tree(u.upper)).toEqual([]);
    await s.remove('k');
  });

  it('keeps a copy-up that holds a change, with the lower times on its parents', async () => {
    const { s, parent } = await storeWith(base);
    const u = await s.prepareUnmounted('k', parent);
    const w = new UpperWriter(u.upper, u.lower);
    fs.writeFileSync(w.resolve('/a/b/new', false), 'x');
    w.finish();
    expect(tree(u.upper)).toEqual(['a', 'a/b', 'a/b/new']);
    expect(fs.lstatSync(join(u.upper, 'a')).mtimeMs).toBe(1000 * 1000);
    await s.remove('k');
  });

  it('leaves what it does not emulate to a mounted snapshot', async () => {
    const { s, parent } = await storeWith(base);
    const u = await s.prepareUnmounted('k', parent);
    const w = new UpperWriter(u.upper, u.lower);
    expect(() => w.resolve('/loop/x')).toThrow(expect.objectContaining({ code: 'UNMOUNTED_FALLBACK' }));
    expect(() => w.resolve('/a/b/file/x')).toThrow(expect.objectContaining({ code: 'UNMOUNTED_FALLBACK' }));
    await s.remove('k');
  });
});

describe('a store outside the build namespace', () => {
  it('writes hostRoot ids as 0:0, refuses other owners and unpacking, commits by rename', async () => {
    const { root, parent } = await storeWith(base);
    const s = openUnmountedSnapshotter({ root, hostRoot: { uid: 1234, gid: 5678 } });
    const sink = fileSink(join(root, 'blobs'));
    const u = await s.prepareUnmounted('k', parent);
    fs.writeFileSync(join(u.upper, 'mine'), 'm');
    fs.lchownSync(join(u.upper, 'mine'), 1234, 5678);
    const layer = await s.diff('k', sink, { compression: 'none' });
    expect(execFileSync('tar', ['--numeric-owner', '-tvf', sink.path(layer!.digest)], { encoding: 'utf8' })).toMatch(/^-rw-r--r-- 0\/0 +1 .* mine\n$/);
    const chain = nextChainId(parent, layer!.diffId);
    await s.commit('k', chain);
    expect(await s.exists(chain)).toBe(true);

    const v = await s.prepareUnmounted('k2', chain);
    fs.writeFileSync(join(v.upper, 'theirs'), 't');
    fs.lchownSync(join(v.upper, 'theirs'), 42, 42);
    await expect(s.diff('k2', sink, { compression: 'none' })).rejects.toMatchObject({ code: 'FOREIGN_OWNER' });
    await s.remove('k2');
    await expect(s.prepare('k3', chain)).rejects.toMatchObject({ code: 'NEEDS_NAMESPACE' });
    await expect(s.unpack(tarLayer([{ path: 'x', body: 'x' }], chain)))
      .rejects.toMatchObject({ code: 'NEEDS_NAMESPACE' });
  });
});
