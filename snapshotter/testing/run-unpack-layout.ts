/**
 * Driver script for user-namespace tests: `node dist/snapshotter/testing/run-unpack-layout.js <layout> <store> <driver>`
 * unpacks the layers of the first image of an OCI layout into a fresh store with `driver`, mounts a
 * read-only view of the top and prints { warnings, mediaTypes, manifest } as JSON (mtimes included).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { nextChainId } from '../chain-id.js';
import { createSnapshotter } from '../create.js';
import { isOverlayXattr } from '../overlay-form.js';
import type { Digest, DriverName } from '../snapshotter.js';
import { treeManifest } from './tree-manifest.js';

async function main(layout: string, storeRoot: string, driver: DriverName): Promise<void> {
  const blob = (d: string): string => join(layout, 'blobs/sha256', d.slice('sha256:'.length));
  const json = <T>(p: string): T => JSON.parse(fs.readFileSync(p, 'utf8')) as T;
  const index = json<{ manifests: Array<{ digest: string }> }>(join(layout, 'index.json'));
  const manifest = json<{ config: { digest: string }; layers: Array<{ digest: string; mediaType: string }> }>(blob(index.manifests[0]!.digest));
  const config = json<{ rootfs: { diff_ids: Digest[] } }>(blob(manifest.config.digest));
  const store = await createSnapshotter({ root: storeRoot, driver });
  const warnings: string[] = [];
  let parent: Digest | undefined;
  for (const [i, l] of manifest.layers.entries()) {
    const diffId = config.rootfs.diff_ids[i]!;
    const chainId = nextChainId(parent, diffId);
    const r = await store.unpack({ chainId, ...(parent ? { parent } : {}), diffId, mediaType: l.mediaType, open: async () => fs.createReadStream(blob(l.digest)) });
    warnings.push(...r.warnings);
    parent = chainId;
  }
  const v = await store.view('check', parent);
  const tree = treeManifest(v.root, { mtime: true, skipXattr: isOverlayXattr }).filter((l) => !l.startsWith('. '));
  await store.remove('check');
  process.stdout.write(JSON.stringify({ warnings, mediaTypes: manifest.layers.map((l) => l.mediaType), manifest: tree }));
}

const [layout, store, driver] = process.argv.slice(2) as [string, string, DriverName];
main(layout, store, driver).catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
