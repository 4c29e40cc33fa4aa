import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeTarHeader, parsePax } from './tar-header.js';
import { readTar } from './tar-reader.js';
import { makeTar } from './testing/make-tar.js';

const dir = mkdtempSync(join(tmpdir(), 'rbuild-tarh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const longName = `${'d'.repeat(120)}/${'n'.repeat(150)}`;
const longLink = `/${'l'.repeat(200)}`;
const cap = Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

const sample = makeTar([
  { path: 'etc', type: 'dir', mode: 0o755, mtime: 1700000000 },
  { path: 'etc/passwd', body: 'root:x:0:0\n', uid: 0, gid: 0, mtime: 1700000001 },
  { path: 'bin/ping', body: 'ELF', mode: 0o4755, xattrs: { 'security.capability': cap } },
  { path: 'big-ids', body: '', uid: 3_000_000, gid: 2_500_000 },
  { path: longName, body: 'long' },
  { path: 'link', type: 'symlink', linkname: longLink },
  { path: 'hard', type: 'hardlink', linkname: 'etc/passwd' },
  { path: 'ünïcode', body: 'u' },
  { path: 'tmp', type: 'dir', mode: 0o1777 },
]);

describe('tar header writer', () => {
  it('is read by GNU tar with long names, big ids and modes', () => {
    const f = join(dir, 'a.tar');
    writeFileSync(f, sample);
    const out = execFileSync('tar', ['--numeric-owner', '-tvf', f], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(9);
    expect(lines[0]).toMatch(/^drwxr-xr-x 0\/0 +0 2023-11-14 22:13 etc\/$/);
    expect(lines[2]).toMatch(/^-rwsr-xr-x 0\/0 +3 .* bin\/ping$/);
    expect(lines[3]).toMatch(/^-rw-r--r-- 3000000\/2500000 /);
    expect(lines[4]).toContain(longName);
    expect(lines[5]).toContain(`link -> ${longLink}`);
    expect(lines[6]).toContain('hard link to etc/passwd');
    expect(lines[7]).toContain('ünïcode');
    expect(lines[8]).toMatch(/^drwxrwxrwt /);
    const xattrs = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', f], { encoding: 'utf8' });
    expect(xattrs).toMatch(/security\.capability/);
  });

  it('is read by node-tar', async () => {
    const seen: Array<{ path: string; type: string; uid?: number; linkpath?: string; mode?: number }> = [];
    await new Promise<void>((resolve, reject) => {
      const p = new tar.Parser({ onReadEntry: (e) => { seen.push({ path: e.path, type: e.type, uid: e.uid, linkpath: e.linkpath, mode: e.mode }); e.resume(); } });
      p.on('end', resolve);
      p.on('error', reject);
      p.end(sample);
    });
    expect(seen.map((s) => s.path)).toEqual(['etc/', 'etc/passwd', 'bin/ping', 'big-ids', longName, 'link', 'hard', 'ünïcode', 'tmp/']);
    expect(seen[3]!.uid).toBe(3_000_000);
    expect(seen[5]!.linkpath).toBe(longLink);
    expect(seen[2]!.mode).toBe(0o4755);
  });

  it('round-trips through our reader, binary xattrs included', async () => {
    const got = [];
    for await (const e of readTar(Readable.from([sample]))) {
      const chunks: Buffer[] = [];
      for await (const c of e.body()) chunks.push(c);
      got.push({ ...e.header, body: Buffer.concat(chunks).toString() });
    }
    expect(got.map((g) => g.path)).toEqual(['etc', 'etc/passwd', 'bin/ping', 'big-ids', longName, 'link', 'hard', 'ünïcode', 'tmp']);
    expect(got[2]!.xattrs!['security.capability']).toEqual(cap);
    expect(got[3]).toMatchObject({ uid: 3_000_000, gid: 2_500_000 });
    expect(got[1]).toMatchObject({ body: 'root:x:0:0\n', mtime: 1700000001, type: 'file' });
    expect(got[5]).toMatchObject({ type: 'symlink', linkname: longLink });
    expect(got[8]).toMatchObject({ type: 'dir', mode: 0o1777 });
  });

  it('reads what GNU tar writes (PAX, long names)', async () => {
    const src = join(dir, 'src');
    execFileSync('mkdir', ['-p', join(src, 'x'.repeat(90), 'y'.repeat(90), 'z'.repeat(90))]);
    writeFileSync(join(src, 'x'.repeat(90), 'file'), 'hello');
    const f = join(dir, 'gnu.tar');
    execFileSync('tar', ['--format=posix', '-cf', f, '-C', src, '.']);
    const paths = [];
    for await (const e of readTar(Readable.from([readFileSync(f)]))) paths.push(e.header.path);
    expect(paths).toContain(`./${'x'.repeat(90)}/${'y'.repeat(90)}/${'z'.repeat(90)}`);
    expect(paths).toContain(`./${'x'.repeat(90)}/file`);
  });

  it('is deterministic and computes PAX record lengths that count themselves', () => {
    const h = { path: 'a'.repeat(300), type: 'file' as const, mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 5 };
    expect(encodeTarHeader(h)).toEqual(encodeTarHeader(h));
    const rec = encodeTarHeader(h).subarray(512, 512 + 311);
    expect(parsePax(rec).get('path')!.toString()).toBe('a'.repeat(300));
    // 9 + 97 byte record: the length digits roll over from 2 to 3.
    const m = parsePax(encodeTarHeader({ ...h, path: 'b'.repeat(101 - 11) + '/'.repeat(0) + 'é'.repeat(4) }).subarray(512, 1024));
    expect(m.get('path')!.toString()).toBe('b'.repeat(90) + 'é'.repeat(4));
  });
});
