import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { nativeGzip } from './native-fs.js';

const gunzipAsync = promisify(gunzip);
const text = Buffer.from('FROM debian:bookworm\nRUN apt-get install -y jq\n'.repeat(20_000));

describe('rbuild_gzip addon (libdeflate)', () => {
  it('loads, with its interface and libdeflate versions', () => {
    const g = nativeGzip();
    expect(g.abiVersion).toBe(1);
    expect(g.libdeflateVersion).toMatch(/^\d+\.\d+/);
  });

  it('one member round-trips through zlib at every level 0-12; higher levels are not bigger', async () => {
    const input = Buffer.concat([text, randomBytes(100_000)]);
    const sizes: number[] = [];
    for (let level = 0; level <= 12; level++) {
      const out = await nativeGzip().gzipMember(input, level);
      expect(out.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x8b, 8])); // gzip magic, deflate
      expect((await gunzipAsync(out)).equals(input)).toBe(true);
      sizes.push(out.length);
    }
    expect(sizes[0]).toBeGreaterThan(input.length); // level 0: stored blocks
    expect(sizes[1]).toBeLessThan(input.length * 0.2);
    expect(sizes[9]).toBeLessThanOrEqual(sizes[1]!);
  });

  it('empty input gives a valid empty member', async () => {
    const out = await nativeGzip().gzipMember(Buffer.alloc(0), 6);
    expect(gunzipSync(out).length).toBe(0);
  });

  it('takes a Uint8Array view into a larger buffer (offset respected)', async () => {
    const whole = Buffer.concat([Buffer.from('xxxx'), text, Buffer.from('yyyy')]);
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 4, text.length);
    expect(gunzipSync(await nativeGzip().gzipMember(view, 6)).equals(text)).toBe(true);
  });

  it('a large input (48 MiB, half incompressible) and several jobs at once', async () => {
    const big = Buffer.concat([randomBytes(24 << 20), Buffer.from(randomBytes(18 << 20).toString('base64'))]);
    const parts = [big, big.subarray(0, 5 << 20), big.subarray(30 << 20)];
    const outs = await Promise.all(parts.map((p) => nativeGzip().gzipMember(p, 6)));
    for (let i = 0; i < parts.length; i++) expect((await gunzipAsync(outs[i]!)).equals(parts[i]!)).toBe(true);
  });

  it('refuses bad arguments synchronously with Node-style codes', () => {
    const g = nativeGzip() as unknown as { gzipMember(...a: unknown[]): unknown };
    expect(() => g.gzipMember(text, 13)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => g.gzipMember(text, -1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => g.gzipMember('text', 6)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => g.gzipMember(new Uint16Array(4), 6)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => g.gzipMember(text)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
