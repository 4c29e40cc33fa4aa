import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
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
