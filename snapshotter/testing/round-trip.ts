/**
 * Test scenario shared by the root and the user-namespace tests: unpack a
 * two-layer chain, change the merged view in every way a build step can,
 * diff, commit, and unpack the diff in a fresh store with another driver.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { nextChainId } from '../chain-id.js';
import { createSnapshotter } from '../create.js';
import { nativeFs } from '../native-fs.js';
import { isOverlayXattr } from '../overlay-form.js';
import type { Digest, DriverName, LayerInfo } from '../snapshotter.js';
import { fileSink } from './file-sink.js';
import { makeTar } from './make-tar.js';
import { treeManifest } from './tree-manifest.js';

const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');

/** The base layers (uncompressed tars). */
export function baseLayers(): Buffer[] {
  const l1 = makeTar([
    ...['bin', 'etc', 'var', 'var/cache', 'var/cache/b', 'opt', 'opt/dir2file', 'srv', 'srv/flip', 'srv/opq', 'usr', 'usr/lib'].map((path) => ({ path, type: 'dir' as const })),
    { path: 'etc/conf', body: 'v1' },
    { path: 'etc/hosts', body: '127.0.0.1 localhost\n' },
    { path: 'etc/remove-me', body: 'bye' },
    { path: 'etc/owned', body: 'o', uid: 10, gid: 10 },
    { path: 'bin/tool', body: 'elf', mode: 0o755, xattrs: { 'security.capability': cap } },
    { path: 'var/cache/a', body: 'a' },
    { path: 'var/cache/b/c', body: 'c' },
    { path: 'opt/dir2file/x', body: 'x' },
    { path: 'opt/file2dir', body: 'f' },
    { path: 'srv/flip/y', body: 'y' },
    { path: 'srv/opq/old1', body: '1' },
    { path: 'srv/opq/old2', body: '2' },
    { path: 'usr/lib/liba', body: 'lib' },
    { path: 'usr/lib/hard', type: 'hardlink', linkname: 'usr/lib/liba' },
    { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
    { path: 'tmp', type: 'dir', mode: 0o1777 },
    { path: 'empty', type: 'dir', mode: 0o700 },
  ]);
  const l2 = makeTar([
    { path: 'etc', type: 'dir' },
    { path: 'etc/conf', body: 'v2', mtime: 2000 },
    { path: 'srv', type: 'dir' },
    { path: 'srv/opq', type: 'dir' },
    { path: 'srv/opq/.wh..wh..opq', body: '' },
    { path: 'srv/opq/new', body: 'n' },
    { path: 'var/cache/b', type: 'dir' },
    { path: 'var/cache/b/.wh.c', body: '' },
  ]);
  return [l1, l2];
}

/** Changes a mounted tree the way build steps do. */
export function mutate(root: string): void {
  const p = (s: string) => join(root, s);
  fs.mkdirSync(p('new'));
  fs.writeFileSync(p('new/file.txt'), 'added');
  fs.writeFileSync(p('etc/conf'), 'v3 changed');
  fs.chmodSync(p('bin/tool'), 0o4711);
  fs.chownSync(p('etc/owned'), 1234, 5678);
  fs.unlinkSync(p('etc/remove-me'));
  fs.rmSync(p('var/cache'), { recursive: true });
  fs.rmSync(p('opt/dir2file'), { recursive: true });
  fs.writeFileSync(p('opt/dir2file'), 'now a file');
  fs.unlinkSync(p('opt/file2dir'));
  fs.mkdirSync(p('opt/file2dir'));
  fs.writeFileSync(p('opt/file2dir/child'), 'c');
  fs.rmSync(p('srv/flip'), { recursive: true });
  fs.writeFileSync(p('srv/flip'), 'file for a moment');
  fs.unlinkSync(p('srv/flip'));
  fs.mkdirSync(p('srv/flip'));
  fs.writeFileSync(p('srv/flip/again'), 'again');
  fs.linkSync(p('etc/conf'), p('etc/conf-link'));
  fs.symlinkSync('../etc/conf', p('new/link'));
  nativeFs().lsetxattr(p('etc/hosts'), 'user.test', 'v');
  fs.writeFileSync(p('srv/opq/new2'), 'n2');
  fs.utimesSync(p('new/file.txt'), 1_600_000_000, 1_600_000_000);
}

const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Results of one round trip. */
export interface RoundTripResult {
  merged: string[];
  committedView: string[];
  otherDriverView: string[];
  layer: LayerInfo | null;
  warnings: string[];
}

function manifest(root: string): string[] {
  return treeManifest(root, { mtime: true, skipXattr: isOverlayXattr }).filter((l) => !l.startsWith('. '));
}

/** Runs the round trip in `work` (an empty directory) with driver `a`, then `b`. */
export async function roundTrip(work: string, a: DriverName, b: DriverName): Promise<RoundTripResult> {
  const layers = baseLayers();
  const warnings: string[] = [];
  const unpackAll = async (store: Awaited<ReturnType<typeof createSnapshotter>>, extra?: { blob: string; info: LayerInfo }) => {
    let parent: Digest | undefined;
    for (const l of layers) {
      const id = nextChainId(parent, sha(l));
      const layer = { chainId: id, diffId: sha(l), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', open: async () => Readable.from([gzipSync(l)]) };
      warnings.push(...(await store.unpack(parent === undefined ? layer : { ...layer, parent })).warnings);
      parent = id;
    }
    if (extra) {
      const id = nextChainId(parent, extra.info.diffId);
      const r = await store.unpack({ chainId: id, parent, diffId: extra.info.diffId, mediaType: extra.info.mediaType, open: async () => fs.createReadStream(extra.blob) });
      warnings.push(...r.warnings);
      parent = id;
    }
    return parent!;
  };

  const storeA = await createSnapshotter({ root: join(work, 'a'), driver: a });
  const top = await unpackAll(storeA);
  const active = await storeA.prepare('step-1', top);
  mutate(active.root);
  const merged = manifest(active.root);
  const sink = fileSink(join(work, 'blobs'));
  const layer = await storeA.diff('step-1', sink, { compression: 'gzip' });
  if (!layer) throw new Error('empty diff');
  const next = nextChainId(top, layer.diffId);
  await storeA.commit('step-1', next);
  const va = await storeA.view('check', next);
  const committedView = manifest(va.root);
  await storeA.remove('check');

  const storeB = await createSnapshotter({ root: join(work, 'b'), driver: b });
  const topB = await unpackAll(storeB, { blob: sink.path(layer.digest), info: layer });
  const vb = await storeB.view('check', topB);
  const otherDriverView = manifest(vb.root);
  await storeB.remove('check');
  return { merged, committedView, otherDriverView, layer, warnings };
}
