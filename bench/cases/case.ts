/**
 * What a bench case is: a Dockerfile and a generated context, both
 * deterministic, plus the one-file change its third figure rebuilds after.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';

/** The base images the bench pushes to its registry, as `bench/<name>:latest`. */
export type BaseName = 'busybox' | 'debian' | 'largebase';

/** What a case generator is told. */
export interface CaseEnv {
  /** `host:port` of the bench registry; the Dockerfiles name their bases there. */
  registry: string;
  /** Small sizes. */
  quick: boolean;
}

/** A benchmark case. */
export interface BenchCase {
  name: string;
  /** One line for the README and the report. */
  summary: string;
  bases: BaseName[];
  /** Build arguments both tools get. */
  buildArgs?: Record<string, string>;
  /** Writes `Dockerfile` and the context into the empty directory `dir`. */
  write(dir: string, env: CaseEnv): Promise<void>;
  /** Changes one context file; `n` > 0 differs on every call so each rebuild sees a new change. */
  change(dir: string, n: number): Promise<void>;
  /** A context subdirectory whose tree is the layer for the commit and extract figures. */
  layerDir?: string;
}

/** The image name a base is pushed as. */
export function baseRef(registry: string, base: BaseName): string {
  return `${registry}/bench/${base}:latest`;
}

/** Writes a file, making its parent directories. */
export async function put(path: string, content: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

/** A Dockerfile from lines. */
export function dockerfile(lines: string[]): string {
  return lines.join('\n') + '\n';
}

/**
 * A deterministic pseudo-random byte stream (AES-256-CTR over zeros, key from
 * `seed`): incompressible, fast (about 1 GB/s), identical on every machine.
 */
export function pseudoRandom(seed: string): (bytes: number) => Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (bytes) => cipher.update(Buffer.alloc(bytes));
}

/** A small deterministic text, different for every `seed`. */
export function smallText(seed: string, lines = 4): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(`${seed} line ${i} ${createHash('sha256').update(`${seed}:${i}`).digest('hex')}`);
  return out.join('\n') + '\n';
}

/** Streams `size` bytes from `chunk(n)` to a file without holding them in memory. */
export async function writeStreamed(path: string, size: number, chunk: (n: number) => Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const out = createWriteStream(path);
  const step = 1 << 20;
  for (let done = 0; done < size; ) {
    const n = Math.min(step, size - done);
    if (!out.write(chunk(n))) await once(out, 'drain');
    done += n;
  }
  out.end();
  await once(out, 'finish');
}

/** Base64 text of a pseudo-random stream in 76-column lines (compressible about 4:3). */
export function base64Text(seed: string): (bytes: number) => Buffer {
  const rnd = pseudoRandom(seed);
  let pending = '';
  return (bytes) => {
    while (pending.length < bytes) {
      const b64 = rnd(57 * 1024).toString('base64'); // 57 bytes -> 76 characters per line
      for (let i = 0; i < b64.length; i += 76) pending += b64.slice(i, i + 76) + '\n';
    }
    const out = pending.slice(0, bytes);
    pending = pending.slice(bytes);
    return Buffer.from(out, 'latin1');
  };
}

/** The file every case's one-file change rewrites, by default. */
export async function changeFile(path: string, n: number): Promise<void> {
  await put(path, smallText(`change ${n}`));
}

export { join };
