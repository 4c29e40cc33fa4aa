import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuildContext, HashCache } from './context.js';

/** A context of many small files, a few links and dirs, and one file big enough to be streamed. */
function manyFiles(): string {
  const ctx = mkdtempSync(join(tmpdir(), 'ctx-many-'));
  for (let d = 0; d < 30; d++) {
    const dir = join(ctx, 'files', `d${String(d).padStart(3, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 40; f++) {
      const p = join(dir, `f${String(f).padStart(2, '0')}.txt`);
      writeFileSync(p, `file ${d}/${f}\n`.repeat(1 + ((d * 7 + f) % 5)));
      chmodSync(p, f % 3 === 0 ? 0o755 : 0o644);
    }
    chmodSync(dir, d % 2 ? 0o750 : 0o755);
  }
  mkdirSync(join(ctx, 'files/empty'));
  chmodSync(join(ctx, 'files/empty'), 0o700);
  symlinkSync('d000/f00.txt', join(ctx, 'files/link'));
  symlinkSync('/nowhere', join(ctx, 'files/dangling'));
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 12)) & 0xff;
  writeFileSync(join(ctx, 'files/big.bin'), big);
  chmodSync(join(ctx, 'files/big.bin'), 0o600);
  writeFileSync(join(ctx, 'top.txt'), 'top\n');
  chmodSync(join(ctx, 'top.txt'), 0o644);
  chmodSync(join(ctx, 'files'), 0o755);
  return ctx;
}

// Digests computed by the first (async, stream-per-file) implementation: the key must never change.
const FILES_DIGEST = 'sha256:aec17ee3a4761f79210652be8495002427f69fc98c363db42977fdbfbffabe61';
const TOP_DIGEST = 'sha256:979a472a919d9cc71854d8de9f3706006ce0528c14a25addf195eb43cbd1159d';
const IGNORED_DIGEST = 'sha256:bd02a313dab9bfae4ad8911939bb357d3e39c9d8bc2efc192ab9d7db02a73830';
const GLOB_DIGEST = 'sha256:12ced279f0d4fefc5b0ca51dd22674af767e7ed1eb6ee7e0fd7385af9edbed81';

describe('context checksum', () => {
  it('equals the digests of the first implementation on a many-file context', async () => {
    const ctx = manyFiles();
    const bc = new BuildContext(ctx);
    expect(await bc.checksum(await bc.resolve(['files']))).toBe(FILES_DIGEST);
    expect(await bc.checksum(await bc.resolve(['top.txt']))).toBe(TOP_DIGEST);
    expect(await bc.checksum(await bc.resolve(['files/d00*']))).toBe(GLOB_DIGEST);
    const ignoring = new BuildContext(ctx, {
      ignores: (r) => r === 'files/d001' || r.endsWith('.bin') || r === 'files/d002/f03.txt',
      mayReinclude: () => false,
    });
    expect(await ignoring.checksum(await ignoring.resolve(['files']))).toBe(IGNORED_DIGEST);
  });
});

describe('HashCache', () => {
  it('is read back by the next process: a saved hash is used while the metadata is unchanged', async () => {
    const ctx = manyFiles();
    const file = join(mkdtempSync(join(tmpdir(), 'hc-')), 'h.json');
    const first = new BuildContext(ctx, undefined, new HashCache(file));
    const sum = await first.checksum(await first.resolve(['files']));
    await first.saveHashes();
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { hash: string }>;
    expect(Object.keys(saved)).toHaveLength(30 * 40 + 1);
    // A forged hash proves the second pass reads the cache instead of the file.
    saved[join(ctx, 'files/d000/f01.txt')]!.hash = '0'.repeat(64);
    writeFileSync(file, JSON.stringify(saved));
    const second = new BuildContext(ctx, undefined, new HashCache(file));
    expect(await second.checksum(await second.resolve(['files']))).not.toBe(sum);
    // A changed file is hashed again.
    writeFileSync(join(ctx, 'files/d000/f01.txt'), 'changed');
    const third = new BuildContext(ctx, undefined, new HashCache(file));
    const changed = await third.checksum(await third.resolve(['files']));
    expect(changed).not.toBe(sum);
    expect(changed).toBe(await new BuildContext(ctx).checksum(await third.resolve(['files'])));
  });

  it('drops the entries of vanished files once they outnumber the live ones', async () => {
    const ctx = manyFiles();
    const file = join(mkdtempSync(join(tmpdir(), 'hc-')), 'h.json');
    const stale = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`/gone/${i}`, { size: 1, mtimeMs: 1, ctimeMs: 1, ino: i, hash: 'x' }]));
    writeFileSync(file, JSON.stringify(stale));
    const bc = new BuildContext(ctx, undefined, new HashCache(file));
    await bc.checksum(await bc.resolve(['top.txt']));
    await bc.saveHashes();
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object)).toEqual([join(ctx, 'top.txt')]);
  });

  it('keeps one file per context directory', async () => {
    const { contextHashFile } = await import('./context.js');
    expect(contextHashFile('/s/cache', '/a/ctx')).toBe(contextHashFile('/s/cache', '/a/x/../ctx/'));
    expect(contextHashFile('/s/cache', '/a/ctx')).not.toBe(contextHashFile('/s/cache', '/a/ctx2'));
    expect(contextHashFile('/s/cache', '/a/ctx')).toMatch(/^\/s\/cache\/context-hashes\/[0-9a-f]{32}\.json$/);
  });
});
