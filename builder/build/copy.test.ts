import {
  chmodSync, chownSync, existsSync, lchownSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync,
  symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuildContext, ContextError } from './context.js';
import { CopyError, copyInto } from './copy.js';

function setup() {
  const ctx = mkdtempSync(join(tmpdir(), 'ctx-'));
  const root = mkdtempSync(join(tmpdir(), 'root-'));
  mkdirSync(join(ctx, 'src/sub'), { recursive: true });
  writeFileSync(join(ctx, 'a.txt'), 'A');
  writeFileSync(join(ctx, 'b.txt'), 'B');
  writeFileSync(join(ctx, 'src/main.c'), 'int main;');
  writeFileSync(join(ctx, 'src/sub/x'), 'x', { mode: 0o750 });
  writeFileSync(join(ctx, 'secret.env'), 'S');
  return { ctx, root, bc: new BuildContext(ctx, { ignores: (r) => r === 'secret.env' }) };
}

describe('COPY', () => {
  it('copies a file to a new path and a directory by contents', async () => {
    const { root, bc } = setup();
    await copyInto(bc, await bc.resolve(['a.txt']), { root, dest: '/app/renamed', workdir: '/' });
    expect(readFileSync(join(root, 'app/renamed'), 'utf8')).toBe('A');
    await copyInto(bc, await bc.resolve(['src']), { root, dest: 'code', workdir: '/w' });
    expect(readFileSync(join(root, 'w/code/main.c'), 'utf8')).toBe('int main;');
    expect(statSync(join(root, 'w/code/sub/x')).mode & 0o777).toBe(0o750);
  });
  it('wildcards need a directory destination', async () => {
    const { root, bc } = setup();
    await expect(copyInto(bc, await bc.resolve(['*.txt']), { root, dest: '/x', workdir: '/' })).rejects.toBeInstanceOf(CopyError);
    await copyInto(bc, await bc.resolve(['*.txt']), { root, dest: '/x/', workdir: '/' });
    expect(readFileSync(join(root, 'x/b.txt'), 'utf8')).toBe('B');
  });
  it('applies chown and chmod', async () => {
    const { root, bc } = setup();
    await copyInto(bc, await bc.resolve(['a.txt']), { root, dest: '/o/', workdir: '/', chown: { uid: 1001, gid: 1002 }, chmod: () => 0o600 });
    const st = statSync(join(root, 'o/a.txt'));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1001, 1002, 0o600]);
    expect(statSync(join(root, 'o')).uid).toBe(1001);
  });
  it('never writes through a symlink out of the root', async () => {
    const { root, bc } = setup();
    const outside = mkdtempSync(join(tmpdir(), 'outside-'));
    symlinkSync(outside, join(root, 'evil'));
    await copyInto(bc, await bc.resolve(['a.txt']), { root, dest: '/evil/', workdir: '/' });
    expect(existsSync(join(outside, 'a.txt'))).toBe(false);
    expect(readFileSync(join(root, outside, 'a.txt'), 'utf8')).toBe('A');
    expect(readlinkSync(join(root, 'evil'))).toBe(outside);
  });
  it('refuses sources outside the context and ignored sources', async () => {
    const { bc } = setup();
    await expect(bc.resolve(['../etc/passwd'])).rejects.toMatchObject({ code: 'SOURCE_OUTSIDE_CONTEXT' });
    await expect(bc.resolve(['secret.env'])).rejects.toBeInstanceOf(ContextError);
    await expect(bc.resolve(['nope'])).rejects.toMatchObject({ code: 'SOURCE_NOT_FOUND' });
  });
  it('checksums content and mode, not mtimes', async () => {
    const { ctx, bc } = setup();
    const before = await bc.checksum(await bc.resolve(['src']));
    writeFileSync(join(ctx, 'src/main.c'), 'int main;');
    expect(await new BuildContext(ctx).checksum(await bc.resolve(['src']))).toBe(before);
    writeFileSync(join(ctx, 'src/main.c'), 'int main();');
    expect(await new BuildContext(ctx).checksum(await bc.resolve(['src']))).not.toBe(before);
    expect(await bc.checksum(await bc.resolve(['a.txt']))).not.toBe(before);
  });
});

describe('COPY --parents and --exclude', () => {
  it('keeps source paths, from the /./ pivot on', async () => {
    const { parentsDestination } = await import('./copy.js');
    expect(parentsDestination('x/a.txt', 'x/a.txt', false, '/d')).toBe('/d/x/');
    expect(parentsDestination('a.txt', 'a.txt', false, '/d/')).toBe('/d/');
    expect(parentsDestination('src', 'src', true, '/d/')).toBe('/d/src/');
    expect(parentsDestination('./x/./y/*.txt', 'x/y/b.txt', false, '/p/')).toBe('/p/y/');
    expect(parentsDestination('/x/./y', 'x/y', true, '/p/')).toBe('/p/y/');
  });
  it('skips excluded files and directories', async () => {
    const { root, bc } = setup();
    const { createIgnoreMatcher } = await import('../dockerfile/dockerignore.js');
    const m = createIgnoreMatcher(['*.c', 'sub']);
    await copyInto(bc, await bc.resolve(['src', 'a.txt']), { root, dest: '/e/', workdir: '/', exclude: (r) => m.matches(r) });
    expect(existsSync(join(root, 'e/main.c'))).toBe(false);
    expect(existsSync(join(root, 'e/sub'))).toBe(false);
    expect(existsSync(join(root, 'e/a.txt'))).toBe(true);
  });
});

describe('COPY of a tree', () => {
  /** A source tree with odd modes, owners, links and old mtimes. */
  function tree(): { ctx: string; when: Date } {
    const ctx = mkdtempSync(join(tmpdir(), 'ctx-tree-'));
    const when = new Date('2001-02-03T04:05:06.789Z');
    mkdirSync(join(ctx, 'src/a/b'), { recursive: true });
    mkdirSync(join(ctx, 'src/sgid'));
    for (let i = 0; i < 50; i++) writeFileSync(join(ctx, `src/a/f${i}`), `file ${i}\n`);
    writeFileSync(join(ctx, 'src/a/b/suid'), '#!/bin/sh\n');
    chmodSync(join(ctx, 'src/a/b/suid'), 0o4755);
    writeFileSync(join(ctx, 'src/a/b/ro'), 'ro');
    chmodSync(join(ctx, 'src/a/b/ro'), 0o400);
    writeFileSync(join(ctx, 'src/a/b/all'), 'all');
    chmodSync(join(ctx, 'src/a/b/all'), 0o777);
    writeFileSync(join(ctx, 'src/big'), Buffer.alloc(3 * 1024 * 1024, 7));
    chmodSync(join(ctx, 'src/big'), 0o640);
    writeFileSync(join(ctx, 'src/empty'), '');
    symlinkSync('a/f1', join(ctx, 'src/link'));
    chmodSync(join(ctx, 'src/sgid'), 0o2750);
    chownSync(join(ctx, 'src/a/f3'), 1234, 2345);
    lchownSync(join(ctx, 'src/link'), 1234, 2345);
    for (const p of ['src/a/f0', 'src/a/f3', 'src/a/b/suid', 'src/big', 'src/a/b', 'src/a', 'src/sgid']) utimesSync(join(ctx, p), when, when);
    lutimesSync(join(ctx, 'src/link'), when, when);
    return { ctx, when };
  }
  const info = (p: string) => {
    const st = lstatSync(p);
    return { mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid, mtime: st.mtimeMs };
  };

  it('keeps modes and mtimes, owns everything by root, copies content', async () => {
    const { ctx, when } = tree();
    const root = mkdtempSync(join(tmpdir(), 'root-'));
    const bc = new BuildContext(ctx);
    const n = await copyInto(bc, await bc.resolve(['src']), { root, dest: '/app/', workdir: '/' });
    expect(n).toBe(59);
    expect(info(join(root, 'app/a/b/suid'))).toEqual({ mode: '4755', uid: 0, gid: 0, mtime: when.getTime() });
    expect(info(join(root, 'app/a/b/ro'))).toMatchObject({ mode: '400', uid: 0, gid: 0 });
    // Wider than the umask lets a new file be: set after creation.
    expect(info(join(root, 'app/a/b/all'))).toMatchObject({ mode: '777', uid: 0, gid: 0 });
    expect(info(join(root, 'app/a/f3'))).toEqual({ mode: '644', uid: 0, gid: 0, mtime: when.getTime() });
    expect(info(join(root, 'app/big'))).toEqual({ mode: '640', uid: 0, gid: 0, mtime: when.getTime() });
    expect(info(join(root, 'app/sgid'))).toEqual({ mode: '2750', uid: 0, gid: 0, mtime: when.getTime() });
    expect(info(join(root, 'app/a'))).toEqual({ mode: '755', uid: 0, gid: 0, mtime: when.getTime() });
    expect(info(join(root, 'app/a/b')).mtime).toBe(when.getTime());
    expect(info(join(root, 'app/link'))).toMatchObject({ uid: 0, gid: 0, mtime: when.getTime() });
    expect(readlinkSync(join(root, 'app/link'))).toBe('a/f1');
    expect(readFileSync(join(root, 'app/a/f49'), 'utf8')).toBe('file 49\n');
    expect(readFileSync(join(root, 'app/big')).equals(readFileSync(join(ctx, 'src/big')))).toBe(true);
    expect(readFileSync(join(root, 'app/empty')).length).toBe(0);
  });

  it('applies --chown to every entry and keeps source owners for stage copies', async () => {
    const { ctx } = tree();
    const root = mkdtempSync(join(tmpdir(), 'root-'));
    const bc = new BuildContext(ctx);
    await copyInto(bc, await bc.resolve(['src']), { root, dest: '/c/', workdir: '/', chown: { uid: 7, gid: 8 } });
    for (const p of ['c', 'c/a', 'c/a/f3', 'c/a/b/suid', 'c/big', 'c/link', 'c/sgid']) expect([p, info(join(root, p)).uid, info(join(root, p)).gid]).toEqual([p, 7, 8]);
    // chown clears setuid: the mode is set after it.
    expect(info(join(root, 'c/a/b/suid')).mode).toBe('4755');
    const { RootTree } = await import('./copy.js');
    const rt = new RootTree(ctx);
    await copyInto(rt, await rt.resolve(['/src']), { root, dest: '/k/', workdir: '/', keepOwner: true });
    expect(info(join(root, 'k/a/f3'))).toMatchObject({ uid: 1234, gid: 2345 });
    expect(info(join(root, 'k/link'))).toMatchObject({ uid: 1234, gid: 2345 });
    expect(info(join(root, 'k/a/f2'))).toMatchObject({ uid: 0, gid: 0 });
  });

  it('gives root ownership in a setgid destination directory', async () => {
    const { ctx } = tree();
    const root = mkdtempSync(join(tmpdir(), 'root-'));
    mkdirSync(join(root, 'g'));
    chownSync(join(root, 'g'), 0, 50);
    chmodSync(join(root, 'g'), 0o2775);
    const bc = new BuildContext(ctx);
    await copyInto(bc, await bc.resolve(['src']), { root, dest: '/g/', workdir: '/' });
    expect(info(join(root, 'g/a/f0'))).toMatchObject({ uid: 0, gid: 0 });
    expect(info(join(root, 'g/empty'))).toMatchObject({ uid: 0, gid: 0 });
    // The copied setgid directory hands its group (root) down too.
    expect(info(join(root, 'g/sgid'))).toMatchObject({ uid: 0, gid: 0 });
  });

  it('merges into an existing tree: files replaced, links to directories replaced, directories kept', async () => {
    const { ctx } = tree();
    const root = mkdtempSync(join(tmpdir(), 'root-'));
    mkdirSync(join(root, 'm/a'), { recursive: true });
    writeFileSync(join(root, 'm/a/f0'), 'old');
    writeFileSync(join(root, 'm/a/keep'), 'keep');
    mkdirSync(join(root, 'elsewhere'));
    symlinkSync('/elsewhere', join(root, 'm/sgid'));
    symlinkSync('/nowhere', join(root, 'm/empty'));
    const bc = new BuildContext(ctx);
    await copyInto(bc, await bc.resolve(['src']), { root, dest: '/m', workdir: '/' });
    expect(readFileSync(join(root, 'm/a/f0'), 'utf8')).toBe('file 0\n');
    expect(readFileSync(join(root, 'm/a/keep'), 'utf8')).toBe('keep');
    expect(lstatSync(join(root, 'm/sgid')).isDirectory()).toBe(true);
    expect(lstatSync(join(root, 'm/empty')).isFile()).toBe(true);
    expect(readdirSync(join(root, 'elsewhere'))).toEqual([]);
    mkdirSync(join(root, 'x/big'), { recursive: true });
    await expect(copyInto(bc, await bc.resolve(['src']), { root, dest: '/x', workdir: '/' })).rejects.toMatchObject({ code: 'DEST_IS_DIR' });
  });

  it('writes the parents of a path re-included under an ignored directory', async () => {
    const { ctx, when } = tree();
    const root = mkdtempSync(join(tmpdir(), 'root-'));
    const bc = new BuildContext(ctx, { ignores: (r) => r.startsWith('src/a') && r !== 'src/a/b/ro', mayReinclude: () => true });
    await copyInto(bc, await bc.resolve(['src']), { root, dest: '/r/', workdir: '/' });
    expect(readFileSync(join(root, 'r/a/b/ro'), 'utf8')).toBe('ro');
    expect(existsSync(join(root, 'r/a/f0'))).toBe(false);
    expect(info(join(root, 'r/a'))).toEqual({ mode: '755', uid: 0, gid: 0, mtime: when.getTime() });
  });
});
