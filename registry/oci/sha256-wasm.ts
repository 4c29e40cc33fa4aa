/**
 * The WebAssembly module sha256.ts hashes small inputs with, written out
 * opcode by opcode (WebAssembly 1.0 binary format). sha256.ts embeds its bytes
 * (the test checks they are these): running this generator costs ~2 ms in V8's
 * interpreter, more than the hashing it serves.
 */

import { SHA256_WASM_LAYOUT } from './sha256.js';

const { K_AT, H_AT, W_AT, PAGES } = SHA256_WASM_LAYOUT;

/** The opcodes the module uses (WebAssembly 1.0 binary format). */
const op = {
  block: 0x02, loop: 0x03, end: 0x0b, br_if: 0x0d,
  get: 0x20, set: 0x21, tee: 0x22, load: 0x28, store: 0x36, const: 0x41,
  lt_u: 0x49, add: 0x6a, and: 0x71, or: 0x72, xor: 0x73, shl: 0x74, shr_u: 0x76, rotl: 0x77, rotr: 0x78,
} as const;

function leb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>>= 7;
    if (n === 0) return [...out, b];
    out.push(b | 0x80);
  }
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

/**
 * The module: `compress(from, to)` runs the sha256 compression function over the 64-byte blocks
 * of memory[from, to), updating the state at H_AT. Locals: 0 from (the block pointer), 1 to,
 * 2 q (4 * the round or word index), 3-10 the working variables a..h, 11 t1, 12 x.
 */
/** The module's bytes. */
export function sha256WasmBytes(): Uint8Array {
  const [P, END, Q, A, B, C, D, E, F, G, H, T1, X] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const get = (l: number): number[] => [op.get, l];
  const set = (l: number): number[] => [op.set, l];
  const k = (n: number): number[] => [op.const, ...sleb(n | 0)];
  const load = (offset: number): number[] => [op.load, 2, ...leb(offset)];
  const store = (offset: number): number[] => [op.store, 2, ...leb(offset)];
  const rotr = (l: number, n: number): number[] => [...get(l), ...k(n), op.rotr];
  // x rotr a ^ x rotr b ^ (x rotr c | x >>> c): the sigma functions.
  const sigma = (l: number, a: number, b: number, c: number, shift: boolean): number[] => [
    ...rotr(l, a), ...rotr(l, b), op.xor, ...get(l), ...k(c), shift ? op.shr_u : op.rotr, op.xor,
  ];
  const body = [
    op.block, 0x40, op.loop, 0x40,
    // W[0..15]: the block's big-endian words (byte-swapped from the little-endian load).
    ...k(0), ...set(Q),
    op.loop, 0x40,
    ...get(Q),
    ...get(P), ...get(Q), op.add, ...load(0), ...set(X),
    ...get(X), ...k(0xff00ff00), op.and, ...k(8), op.rotl, ...get(X), ...k(0x00ff00ff), op.and, ...k(8), op.rotr, op.or,
    ...store(W_AT),
    ...get(Q), ...k(4), op.add, op.tee, Q, ...k(64), op.lt_u, op.br_if, 0,
    op.end,
    // W[16..63] = W[i-16] + s0(W[i-15]) + W[i-7] + s1(W[i-2]); q = 4i, so W[i-n] is at q + W_AT - 4n.
    op.loop, 0x40,
    ...get(Q),
    ...get(Q), ...load(W_AT - 64),
    ...get(Q), ...load(W_AT - 60), ...set(X), ...sigma(X, 7, 18, 3, true), op.add,
    ...get(Q), ...load(W_AT - 28), op.add,
    ...get(Q), ...load(W_AT - 8), ...set(X), ...sigma(X, 17, 19, 10, true), op.add,
    ...store(W_AT),
    ...get(Q), ...k(4), op.add, op.tee, Q, ...k(256), op.lt_u, op.br_if, 0,
    op.end,
    // a..h = the state.
    ...[A, B, C, D, E, F, G, H].flatMap((l, i) => [...k(0), ...load(H_AT + 4 * i), ...set(l)]),
    ...k(0), ...set(Q),
    op.loop, 0x40,
    // t1 = h + S1(e) + ch(e, f, g) + K[i] + W[i]
    ...get(H), ...sigma(E, 6, 11, 25, false), op.add,
    ...get(E), ...get(F), op.and, ...get(E), ...k(-1), op.xor, ...get(G), op.and, op.xor, op.add,
    ...get(Q), ...load(K_AT), op.add, ...get(Q), ...load(W_AT), op.add, ...set(T1),
    ...get(G), ...set(H), ...get(F), ...set(G), ...get(E), ...set(F),
    ...get(D), ...get(T1), op.add, ...set(E),
    ...get(C), ...set(D), ...get(B), ...set(C), ...get(A), ...set(B),
    // a = t1 + S0(a) + maj(a, b, c) (b and c hold the old a and b now, d the old c)
    ...get(T1), ...sigma(B, 2, 13, 22, false), op.add,
    ...get(B), ...get(C), op.and, ...get(B), ...get(D), op.and, op.xor, ...get(C), ...get(D), op.and, op.xor, op.add,
    ...set(A),
    ...get(Q), ...k(4), op.add, op.tee, Q, ...k(256), op.lt_u, op.br_if, 0,
    op.end,
    // state += a..h
    ...[A, B, C, D, E, F, G, H].flatMap((l, i) => [...k(0), ...k(0), ...load(H_AT + 4 * i), ...get(l), op.add, ...store(H_AT + 4 * i)]),
    ...get(P), ...k(64), op.add, op.tee, P, ...get(END), op.lt_u, op.br_if, 0,
    op.end, op.end,
    op.end,
  ];
  const locals = [1, 11, 0x7f]; // one run of 11 i32 locals (after the 2 parameters)
  const code = [...locals, ...body];
  const section = (id: number, content: number[]): number[] => [id, ...leb(content.length), ...content];
  const name = [...'compress'].map((c) => c.charCodeAt(0));
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 0]), // type: (i32, i32) -> ()
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0, PAGES]), // one memory of PAGES pages
    ...section(7, [2, name.length, ...name, 0, 0, 1, 0x6d, 2, 0]), // exports: compress, memory "m"
    ...section(10, [1, ...leb(code.length), ...code]),
  ]);
}

