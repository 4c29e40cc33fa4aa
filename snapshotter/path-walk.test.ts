// walkPath on a real directory tree: symlinks (relative, absolute, in the middle, a loop), `..` at the root,
// a path through a file, with the lookup resolve-in-root uses (lstat under the root).
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { walkPath, type WalkedEntry } from './path-walk.js';

const root = fs.mkdtempSync(join(tmpdir(), 'path-walk-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
fs.mkdirSync(join(root, 'usr/lib'), { recursive: true });
fs.writeFileSync(join(root, 'usr/lib/file'), 'x');
fs.symlinkSync('usr/lib', join(root, 'lib'));
fs.symlinkSync('/usr/lib', join(root, 'usr/abs'));
fs.symlinkSync('../../../../usr', join(root, 'usr/lib/up'));
fs.symlinkSync('loop', join(root, 'loop'));

const lookup = (rel: string): WalkedEntry | undefined => {
  const abs = join(root, rel);
  try {
    return { abs, st: fs.lstatSync(abs) };
  } catch {
    return undefined;
  }
};
const walk = (p: string, followLast = true, notDir = false): string =>
  walkPath(p, {
    lookup, followLast, tooManyLinks: () => new Error('ELOOP'),
    ...(notDir ? { notDirectory: () => new Error('ENOTDIR') } : {}),
  }).map((c) => c.name).join('/');

describe('walkPath', () => {
  it('follows relative and absolute symlinks inside the root', () => {
    expect(walk('/lib/file')).toBe('usr/lib/file');
    expect(walk('usr/abs/file')).toBe('usr/lib/file');
  });
  it('never climbs above the root', () => {
    expect(walk('/../../usr/lib/up/lib')).toBe('usr/lib');
  });
  it('keeps the last symlink unless followLast', () => {
    expect(walk('/lib', false)).toBe('lib');
    expect(walk('/lib', true)).toBe('usr/lib');
  });
  it('appends missing components as they are', () => {
    expect(walk('/lib/new/dir')).toBe('usr/lib/new/dir');
  });
  it('reports a symlink loop', () => {
    expect(() => walk('/loop/x')).toThrow('ELOOP');
  });
  it('goes through a file unless notDirectory is given', () => {
    expect(walk('/lib/file/x')).toBe('usr/lib/file/x');
    expect(() => walk('/lib/file/x', true, true)).toThrow('ENOTDIR');
  });
  it('says which entry each component was found as', () => {
    const c = walkPath('/lib/file', { lookup, followLast: true, tooManyLinks: () => new Error('ELOOP') });
    expect(c.map((x) => x.entry?.st.isFile() ?? 'missing')).toEqual([false, false, true]);
  });
});
