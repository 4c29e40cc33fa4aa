import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256, SHA256_WASM, sha256Hex, sha256Small, SMALL_LIMIT } from './sha256.js';
import { sha256WasmBytes } from './sha256-wasm.js';

const ref = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

describe('sha256 without node:crypto', () => {
  it('embeds the module sha256-wasm.ts makes', () => {
    expect(SHA256_WASM).toBe(Buffer.from(sha256WasmBytes()).toString('base64'));
  });

  it('matches the FIPS 180-4 test vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('matches node:crypto on every length around the block and padding edges', () => {
    const data = Buffer.alloc(300);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
    for (let n = 0; n <= data.length; n++) expect(Buffer.from(sha256Small(data.subarray(0, n))).toString('hex')).toBe(ref(data.subarray(0, n)));
  });

  it('hashes strings as UTF-8', () => {
    const s = 'héllo wörld ✓ 𝄞';
    expect(sha256Hex(s)).toBe(ref(Buffer.from(s, 'utf8')));
  });

  it('gives the same digest below and above the hand-over to node:crypto', () => {
    const big = Buffer.alloc(SMALL_LIMIT + 1000, 'x');
    expect(sha256Hex(big)).toBe(ref(big));
    expect(sha256Hex(big.subarray(0, SMALL_LIMIT))).toBe(ref(big.subarray(0, SMALL_LIMIT)));
    expect(() => sha256Small(big)).toThrow(RangeError);
  });

  it('hashes many random inputs as node:crypto does, one after the other (no state left behind)', () => {
    let seed = 1;
    for (let i = 0; i < 200; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const b = Buffer.alloc(seed % 5000);
      for (let j = 0; j < b.length; j++) b[j] = (seed >> (j % 23)) ^ j;
      expect(Buffer.from(sha256Small(b)).toString('hex')).toBe(ref(b));
    }
  });

  it('hashes incrementally, small and past the hand-over', () => {
    const h = new Sha256().update('source a\n').update(Buffer.from('f a 644 ab\n'));
    expect(h.digestHex()).toBe(ref('source a\nf a 644 ab\n'));
    const chunks = Array.from({ length: 50 }, (_, i) => `line ${i} ${'y'.repeat(2000)}\n`);
    const inc = new Sha256();
    for (const c of chunks) inc.update(c);
    expect(inc.digestHex()).toBe(ref(chunks.join('')));
  });
});
