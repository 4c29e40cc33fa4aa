import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, utimesSync } from 'node:fs';
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
