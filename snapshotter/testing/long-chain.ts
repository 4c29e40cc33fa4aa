/**
 * Test scenario: a chain of `n` small layers, longer than overlay's stack limit (500) and far
 * longer than one page of mount options holds, mounted by each driver from one shared store.
 * Layers below and above the fold whiteout, replace and make opaque each other's entries; the
 * merged views are compared with one flat layer of the expected end state, extracted directly.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { nextChainId } from '../chain-id.js';
import { createSnapshotter } from '../create.js';
import { extractTar } from '../extract.js';
import { isOverlayXattr } from '../overlay-form.js';
import type { Digest, DriverName } from '../snapshotter.js';
import { fileSink } from './file-sink.js';
import { makeTar, type MakeTarEntry } from './make-tar.js';
import { treeManifest } from './tree-manifest.js';

const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The file `d/f<i>` as layer i writes it. */
const fileOf = (i: number): MakeTarEntry => ({ path: `d/f${i}`, body: String(i), uid: (i % 5) * 100, gid: i % 3, mode: i % 7 === 0 ? 0o4755 : 0o644 });

/** Layer i of the chain (entries in tar order). */
export function chainLayer(i: number, n: number): MakeTarEntry[] {
  const e: MakeTarEntry[] = [{ path: 'd', type: 'dir' }, fileOf(i)];
  if (i === 0) e.push({ path: 'o', type: 'dir' }, { path: 'o/old1', body: '1' }, { path: 'o/old2', body: '2' }, { path: 's', type: 'dir', mode: 0o750 }, { path: 's/x', type: 'dir' }, { path: 's/x/y', body: 'y' });
  if (i === 100) e.push({ path: 'd/.wh.f50', body: '' });
  if (i === 300) e.push({ path: 'd/f10', body: 'changed', uid: 7, gid: 8, mode: 0o600 });
  if (i === 420) e.push({ path: 'd/h', type: 'hardlink', linkname: 'd/f420' });
  if (i === n - 50) e.push({ path: 'o', type: 'dir', mode: 0o700 }, { path: 'o/.wh..wh..opq', body: '' }, { path: 'o/new', body: 'n' });
  if (i === n - 10) e.push({ path: 's', type: 'dir', mode: 0o750 }, { path: 's/.wh.x', body: '' }, { path: 'd/.wh.f5', body: '' });
  return e;
}

/** The end state of the chain as one layer. */
export function expectedLayer(n: number): MakeTarEntry[] {
  const e: MakeTarEntry[] = [{ path: 'd', type: 'dir' }];
  for (let i = 0; i < n; i++) {
    if (i === 50 || i === 5) continue;
    e.push(i === 10 ? { path: 'd/f10', body: 'changed', uid: 7, gid: 8, mode: 0o600 } : fileOf(i));
    if (i === 420) e.push({ path: 'd/h', type: 'hardlink', linkname: 'd/f420' });
  }
  e.push({ path: 'o', type: 'dir', mode: 0o700 }, { path: 'o/new', body: 'n' }, { path: 's', type: 'dir', mode: 0o750 });
  return e;
}

/** What a run shows. */
export interface LongChainResult {
  expected: string[];
  views: Record<string, string[]>;
  /** Entries of the layer diffed from a step on top of the chain, per driver. */
  diffs: Record<string, string[]>;
  /** Directories under snapshots/flat after all steps. */
  flat: number;
}

const manifest = (root: string): string[] => treeManifest(root, { mtime: true, skipXattr: isOverlayXattr }).filter((l) => !l.startsWith('. '));

/** Unpacks the chain into a store under `work`, then mounts it with each driver in turn. */
export async function longChain(work: string, n: number, drivers: DriverName[]): Promise<LongChainResult> {
  const root = join(work, 'store');
  const first = await createSnapshotter({ root, driver: drivers[0]! });
  let parent: Digest | undefined;
  for (let i = 0; i < n; i++) {
    const t = makeTar(chainLayer(i, n));
    const chainId = nextChainId(parent, sha(t));
    await first.unpack({ chainId, ...(parent ? { parent } : {}), diffId: sha(t), mediaType: 'application/vnd.oci.image.layer.v1.tar', open: async () => Readable.from([t]) });
    parent = chainId;
  }
  const flatDir = join(work, 'flat');
  fs.mkdirSync(flatDir);
  await extractTar([makeTar(expectedLayer(n))], flatDir);
  const result: LongChainResult = { expected: manifest(flatDir), views: {}, diffs: {}, flat: 0 };
  const sink = fileSink(join(work, 'blobs'));
  for (const driver of drivers) {
    const store = driver === drivers[0] ? first : await createSnapshotter({ root, driver });
    const a = await store.prepare(`step-${driver}`, parent);
    result.views[driver] = manifest(a.root);
    fs.writeFileSync(join(a.root, 'd/step'), driver);
    const layer = await store.diff(`step-${driver}`, sink, { compression: 'none' });
    result.diffs[driver] = layer ? execFileSync('tar', ['-tf', sink.path(layer.digest)], { encoding: 'utf8' }).trim().split('\n') : [];
    await store.remove(`step-${driver}`);
  }
  result.flat = fs.readdirSync(join(root, 'snapshots/flat')).length;
  return result;
}
