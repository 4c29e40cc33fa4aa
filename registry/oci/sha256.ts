/**
 * sha256 without node:crypto for small inputs. Loading node:crypto costs a
 * command ~3-7 ms (it compiles ~17 internal modules, the stream stack among
 * them), more than all the hashing a fully cached rebuild does: cache keys,
 * the digests of the image config and manifest it reads and writes, a few
 * hundred bytes each. Small inputs are hashed by a tiny WebAssembly module
 * made here (plain JavaScript would run in the interpreter: slower than
 * loading node:crypto); inputs beyond SMALL_LIMIT go to node:crypto (loaded on
 * first use: the bundle makes built-in imports lazy).
 */
import { createHash, type Hash } from 'node:crypto';

/** Inputs up to this many bytes are hashed in JavaScript; larger ones by node:crypto. */
export const SMALL_LIMIT = 64 * 1024;

const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
/**
 * The WebAssembly module that hashes small inputs: `compress(from, to)` over the 64-byte blocks of
 * memory[from, to). Plain JavaScript would run in V8's interpreter in a short-lived command (~20 us
 * a block); Liftoff compiles this in well under a millisecond and it hashes a block in a few us.
 * sha256-wasm.ts is its source (the test checks these bytes are its output); it is embedded as
 * base64 because running that generator costs ~2 ms in the interpreter.
 */
export const SHA256_WASM =
  'AGFzbQEAAAABBgFgAn9/AAMCAQAFAwEAAgcQAghjb21wcmVzcwAAAW0CAArxAwHuAwELfwJAA0BBACECA0AgAiAAIAJqKAIAIQwg' +
  'DEGA/oN4cUEIdyAMQf+B/AdxQQh4cjYCoAIgAkEEaiICQcAASQ0ACwNAIAIgAigC4AEgAigC5AEhDCAMQQd4IAxBEnhzIAxBA3Zz' +
  'aiACKAKEAmogAigCmAIhDCAMQRF4IAxBE3hzIAxBCnZzajYCoAIgAkEEaiICQYACSQ0AC0EAKAKAAiEDQQAoAoQCIQRBACgCiAIh' +
  'BUEAKAKMAiEGQQAoApACIQdBACgClAIhCEEAKAKYAiEJQQAoApwCIQpBACECA0AgCiAHQQZ4IAdBC3hzIAdBGXhzaiAHIAhxIAdB' +
  'f3MgCXFzaiACKAIAaiACKAKgAmohCyAJIQogCCEJIAchCCAGIAtqIQcgBSEGIAQhBSADIQQgCyAEQQJ4IARBDXhzIARBFnhzaiAE' +
  'IAVxIAQgBnFzIAUgBnFzaiEDIAJBBGoiAkGAAkkNAAtBAEEAKAKAAiADajYCgAJBAEEAKAKEAiAEajYChAJBAEEAKAKIAiAFajYC' +
  'iAJBAEEAKAKMAiAGajYCjAJBAEEAKAKQAiAHajYCkAJBAEEAKAKUAiAIajYClAJBAEEAKAKYAiAJajYCmAJBAEEAKAKcAiAKajYC' +
  'nAIgAEHAAGoiACABSQ0ACwsL';

const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/**
 * The module's memory: the round constants, the state, the message schedule, then the padded
 * message; 64 KiB pages, enough for SMALL_LIMIT bytes and their padding after MSG_AT.
 */
export const SHA256_WASM_LAYOUT = { K_AT: 0, H_AT: 256, W_AT: 288, MSG_AT: 1024, PAGES: 2 } as const;
const { K_AT, H_AT, MSG_AT } = SHA256_WASM_LAYOUT;

/** The part of the WebAssembly global this module uses (the project's TypeScript libs do not declare it). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: { compress(from: number, to: number): void; m: { buffer: ArrayBuffer } } };
}

let engine: { compress(from: number, to: number): void; memory: Uint8Array; words: Int32Array } | undefined;

function wasm(): NonNullable<typeof engine> {
  if (engine) return engine;
  const W = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
  const instance = new W.Instance(new W.Module(Buffer.from(SHA256_WASM, 'base64')), {});
  const mem = instance.exports.m;
  const words = new Int32Array(mem.buffer);
  words.set(K, K_AT / 4);
  return (engine = { compress: instance.exports.compress, memory: new Uint8Array(mem.buffer), words });
}

/** The sha256 of `bytes` (at most SMALL_LIMIT of them) as 32 bytes, computed by the WebAssembly module (FIPS 180-4). */
export function sha256Small(bytes: Uint8Array): Uint8Array {
  if (bytes.length > SMALL_LIMIT) throw new RangeError(`sha256Small takes at most ${SMALL_LIMIT} bytes, not ${bytes.length}`);
  const { compress, memory, words } = wasm();
  const n = bytes.length;
  // The message, a 0x80 byte, zeros, and the bit length (big-endian, 64 bits) in whole 64-byte blocks.
  const total = (((n + 8) >> 6) + 1) << 6;
  memory.set(bytes, MSG_AT);
  memory.fill(0, MSG_AT + n, MSG_AT + total);
  memory[MSG_AT + n] = 0x80;
  const bits = n * 8;
  const end = MSG_AT + total;
  memory[end - 4] = bits >>> 24;
  memory[end - 3] = bits >>> 16;
  memory[end - 2] = bits >>> 8;
  memory[end - 1] = bits;
  words.set(H0, H_AT / 4);
  compress(MSG_AT, end);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = words[H_AT / 4 + i]!;
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = v >>> 16;
    out[i * 4 + 2] = v >>> 8;
    out[i * 4 + 3] = v;
  }
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/** The sha256 of `data` (a string is hashed as UTF-8) in lower-case hex. */
export function sha256Hex(data: string | Uint8Array): string {
  const bytes = toBytes(data);
  return bytes.length <= SMALL_LIMIT ? hex(sha256Small(bytes)) : createHash('sha256').update(bytes).digest('hex');
}

/**
 * An incremental sha256 (update, then digestHex once) that hashes in JavaScript
 * while the input stays small and hands over to node:crypto once it grows past SMALL_LIMIT.
 */
export class Sha256 {
  private parts: Uint8Array[] = [];
  private size = 0;
  private native: Hash | undefined;

  /** Adds data (a string as UTF-8). */
  update(data: string | Uint8Array): this {
    const bytes = toBytes(data);
    if (this.native) {
      this.native.update(bytes);
      return this;
    }
    this.parts.push(bytes);
    this.size += bytes.length;
    if (this.size > SMALL_LIMIT) {
      this.native = createHash('sha256');
      for (const p of this.parts) this.native.update(p);
      this.parts = [];
    }
    return this;
  }

  /** The digest of everything added, in lower-case hex. */
  digestHex(): string {
    if (this.native) return this.native.digest('hex');
    return hex(sha256Small(this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts)));
  }
}
