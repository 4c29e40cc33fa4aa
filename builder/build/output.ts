/**
 * `--output`: where the result goes besides (or instead of) the local store.
 * `type=image` (the store, the default), `type=oci|docker,dest=` (an archive
 * of the image; `oci` into a directory gives an OCI layout), `type=local,dest=DIR`
 * (the final file system, owned by the user who runs rbuild) and
 * `type=tar,dest=FILE` (the final file system as a tar, owners as in the image).
 * `dest=-` writes to stdout.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BuildError } from './errors.js';

/** One parsed --output. */
export type OutputSpec =
  | { type: 'image' }
  | { type: 'oci' | 'docker' | 'tar'; dest: string }
  | { type: 'local'; dest: string };

/** Parses `type=...,dest=...` (docker buildx syntax; a bare path means type=local). */
export function parseOutput(spec: string): OutputSpec {
  if (!spec.includes('=')) return { type: 'local', dest: spec };
  const kv = new Map<string, string>();
  for (const part of spec.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) throw new BuildError('BAD_OUTPUT', `invalid --output ${JSON.stringify(spec)}`, 'use --output type=local,dest=DIR (or oci, docker, tar, image)');
    kv.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1));
  }
  const type = kv.get('type') ?? 'local';
  for (const k of kv.keys()) if (!['type', 'dest', 'name', 'push'].includes(k)) throw new BuildError('BAD_OUTPUT', `unknown key ${JSON.stringify(k)} in --output ${JSON.stringify(spec)}`);
  if (type === 'image' || type === 'registry') return { type: 'image' };
  if (type !== 'oci' && type !== 'docker' && type !== 'tar' && type !== 'local') {
    throw new BuildError('BAD_OUTPUT', `unknown --output type ${JSON.stringify(type)}`, 'types: image, oci, docker, local, tar');
  }
  const dest = kv.get('dest');
  if (!dest) throw new BuildError('BAD_OUTPUT', `--output type=${type} needs dest=`, `for example --output type=${type},dest=${type === 'local' ? 'out/' : 'out.tar'}`);
  if (type === 'local' && dest === '-') throw new BuildError('BAD_OUTPUT', 'type=local writes a directory: dest=- is for tar, oci and docker');
  return { type, dest };
}

/** Whether the output needs the final file system (a view of the final snapshot). */
export function needsRootfs(o: OutputSpec): boolean {
  return o.type === 'local' || o.type === 'tar';
}

/** A writable for dest (`-` is stdout, left open). */
export function destStream(dest: string): Writable {
  return dest === '-' ? process.stdout : createWriteStream(dest);
}

/** Copies a root file system into dir without owners (so the user can read and delete it), modes and times kept. */
export async function copyRootfsTo(root: string, dir: string, signal?: AbortSignal): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Loaded here, not at the top: every build imports this module (parseOutput), few export a file system.
  const { spawn } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('cp', ['-a', '--no-preserve=ownership', '--', `${root}/.`, dir], { stdio: ['ignore', 'ignore', 'pipe'], ...(signal ? { signal } : {}) });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new BuildError('OUTPUT_FAILED', `copying the result to ${dir}: ${err.trim().split('\n')[0] ?? code}`))));
  });
}

/** Writes a root file system as a tar (numeric owners, sorted as node-tar walks). */
export async function tarRootfs(root: string, dest: string, signal?: AbortSignal): Promise<void> {
  const tar = await import('tar');
  const stream = tar.c({ cwd: root, portable: false, follow: false, noDirRecurse: false }, ['.']) as unknown as NodeJS.ReadableStream;
  await pipeline(stream, destStream(dest), { ...(signal ? { signal } : {}), ...(dest === '-' ? { end: false } : {}) });
}

/** Whether an `oci` dest is a directory (an existing one, or a path ending in `/`). */
export async function isDirDest(dest: string): Promise<boolean> {
  if (dest.endsWith('/')) return true;
  return (await stat(dest).catch(() => undefined))?.isDirectory() ?? false;
}
