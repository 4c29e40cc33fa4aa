import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FILE_QUEUE_META, nativeFs } from './native-fs.js';

describe('native-fs addon', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'rbuild-nfs-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('sets, lists, reads and removes xattrs without following symlinks', () => {
    const fs = nativeFs();
    const d = tmp();
    const f = join(d, 'f');
    writeFileSync(f, 'x');
    fs.lsetxattr(f, 'user.a', Buffer.from([0, 1, 2]));
    fs.lsetxattr(f, 'user.b', 'text');
    expect(fs.llistxattr(f).sort()).toEqual(['user.a', 'user.b']);
    expect(fs.lgetxattr(f, 'user.a')).toEqual(Buffer.from([0, 1, 2]));
    expect(fs.lgetxattr(f, 'user.missing')).toBeNull();
    fs.lremovexattr(f, 'user.a');
    expect(fs.llistxattr(f)).toEqual(['user.b']);
    expect(() => fs.lsetxattr(f, 'user.b', 'again', 1)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
  });

  it('throws errno-coded errors', () => {
    const fs = nativeFs();
    expect(() => fs.llistxattr('/nonexistent/path')).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'llistxattr', path: '/nonexistent/path' }),
    );
  });

  it('creates 0/0 character devices (overlay whiteouts) as root', () => {
    const fs = nativeFs();
    const d = tmp();
    fs.mknod(join(d, 'wh'), 0o20000 | 0o000, 0);
    const st = statSync(join(d, 'wh'));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
  });

  it('mounts and unmounts overlay with userxattr', () => {
    const fs = nativeFs();
    const d = tmp();
    for (const s of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(d, s));
    writeFileSync(join(d, 'lower/a'), 'a');
    fs.mount('overlay', join(d, 'merged'), 'overlay', 0,
      `lowerdir=${d}/lower,upperdir=${d}/upper,workdir=${d}/work,userxattr`);
    try {
      expect(readdirSync(join(d, 'merged'))).toEqual(['a']);
    } finally {
      fs.umount2(join(d, 'merged'), 0);
    }
    expect(readdirSync(join(d, 'merged'))).toEqual([]);
  });

  it('creates a file with content, owner, mode and times in one call, never through a symlink', () => {
    const fs = nativeFs();
    const d = tmp();
    const old = process.umask(0o022);
    try {
      fs.createFile(join(d, 'f'), Buffer.from('hello'), 0o755, 12, 34, 5000, true, 0o4755);
      fs.createFile(join(d, 'g'), Buffer.alloc(0), 0o640, 0, 0, 7, false, -1);
    } finally {
      process.umask(old);
    }
    const st = statSync(join(d, 'f'));
    expect(readFileSync(join(d, 'f'), 'utf8')).toBe('hello');
    expect([st.uid, st.gid, st.mode & 0o7777, st.mtimeMs, st.atimeMs]).toEqual([12, 34, 0o4755, 5_000_000, 5_000_000]);
    const g = statSync(join(d, 'g'));
    expect([g.size, g.mode & 0o7777, g.mtimeMs]).toEqual([0, 0o640 & ~0o022, 7000]);
    expect(() => fs.createFile(join(d, 'f'), Buffer.from('x'), 0o644, 0, 0, 1, false, -1)).toThrow(expect.objectContaining({ code: 'EEXIST', syscall: 'open' }));
    writeFileSync(join(d, 'victim'), 'original');
    symlinkSync(join(d, 'victim'), join(d, 'link'));
    expect(() => fs.createFile(join(d, 'link'), Buffer.from('x'), 0o644, 0, 0, 1, false, -1)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(readFileSync(join(d, 'victim'), 'utf8')).toBe('original');
    expect(lstatSync(join(d, 'link')).isSymbolicLink()).toBe(true);
  });

  it('creates batches of files on worker threads, reporting failures per record', () => {
    const fs = nativeFs();
    const d = tmp();
    mkdirSync(join(d, 'root/sub'), { recursive: true });
    writeFileSync(join(d, 'root/taken'), 'original');
    writeFileSync(join(d, 'victim'), 'original');
    symlinkSync(join(d, 'victim'), join(d, 'root/link'));
    symlinkSync(d, join(d, 'root/dirlink'));
    const meta = (...recs: number[][]) => new Float64Array(recs.flat());
    const q = fs.createFileQueue(join(d, 'root'), 2);
    expect(q.beneath).toBe(true); // kernel 6.18: openat2 guards every component
    const ids: number[] = [];
    const old = process.umask(0o022);
    try {
      ids.push(q.submit(['a', 'sub/b'], [Buffer.from('A'), Buffer.alloc(0)], meta([0o755, 12, 34, 5000, 1, 0o4755], [0o640, 0, 0, 7, 0, -1])));
      for (let i = 0; i < 20; i++) {
        const rels = Array.from({ length: 50 }, (_, j) => `sub/f${i}-${j}`);
        ids.push(q.submit(rels, rels.map((r) => Buffer.from(r)), meta(...rels.map(() => [0o644, 0, 0, 1, 0, -1]))));
      }
      ids.push(q.submit(['taken', 'link', 'dirlink/escaped', 'missing/f', 'ok'], Array.from({ length: 5 }, () => Buffer.from('x')), meta(...Array.from({ length: 5 }, () => [0o644, 0, 0, 1, 0, -1]))));
    } finally {
      process.umask(old);
    }
    const seen = [...q.poll().done];
    const r = q.drain();
    seen.push(...r.done);
    const all = [...seen].sort((x, y) => x - y);
    expect(all).toEqual([...ids].sort((x, y) => x - y));
    const last = ids[ids.length - 1]!;
    const failures = [...r.failures].sort((x, y) => x.index - y.index);
    expect(failures.map((f) => [f.batch, f.index, f.code, f.syscall])).toEqual([
      [last, 0, 'EEXIST', 'openat2'],
      [last, 1, 'EEXIST', 'openat2'], // a symlink in the way: O_EXCL, never written through
      [last, 2, 'ELOOP', 'openat2'], // a symlink on the way: RESOLVE_NO_SYMLINKS
      [last, 3, 'ENOENT', 'openat2'],
    ]);
    expect(q.drain()).toEqual({ done: [], failures: [] });
    const st = statSync(join(d, 'root/a'));
    expect([readFileSync(join(d, 'root/a'), 'utf8'), st.uid, st.gid, st.mode & 0o7777, st.mtimeMs, st.atimeMs]).toEqual(['A', 12, 34, 0o4755, 5_000_000, 5_000_000]);
    const b = statSync(join(d, 'root/sub/b'));
    expect([b.size, b.mode & 0o7777, b.mtimeMs]).toEqual([0, 0o640 & ~0o022, 7000]);
    expect(readdirSync(join(d, 'root/sub'))).toHaveLength(1001);
    expect(readFileSync(join(d, 'root/sub/f19-49'), 'utf8')).toBe('sub/f19-49');
    expect(readFileSync(join(d, 'root/ok'), 'utf8')).toBe('x');
    expect(readFileSync(join(d, 'root/taken'), 'utf8')).toBe('original');
    expect(readFileSync(join(d, 'victim'), 'utf8')).toBe('original');
    expect(readdirSync(d).sort()).toEqual(['root', 'victim']);
    q.close();
    q.close();
    expect(() => q.submit([], [], new Float64Array(0))).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_CLOSED' }));
    expect(() => fs.createFileQueue(join(d, 'nope'), 2)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(FILE_QUEUE_META).toBe(6);
  });

  it('refuses malformed batches', () => {
    const q = nativeFs().createFileQueue(tmp(), 1);
    try {
      expect(() => q.submit(['a'], [Buffer.from('x')], new Float64Array(5))).toThrow(RangeError);
      expect(() => q.submit(['a'], ['x' as unknown as Buffer], new Float64Array(6))).toThrow(TypeError);
      expect(() => q.submit([''], [Buffer.from('x')], new Float64Array(6))).toThrow(RangeError);
      expect(() => q.submit(['a\0b'], [Buffer.from('x')], new Float64Array(6))).toThrow(RangeError);
    } finally {
      q.close();
    }
  });
});
