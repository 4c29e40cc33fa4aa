// Interop with umoci (Go's archive/tar and its own layer generator): an image
// made of rbuild's layers unpacks to the same tree, and umoci's own layers
// extract in rbuild's store to the tree umoci shows.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { nextChainId } from './chain-id.js';
import { createSnapshotter } from './create.js';
import type { Digest } from './snapshotter.js';
import { fileSink } from './testing/file-sink.js';
import { baseLayers, mutate } from './testing/round-trip.js';
import { treeManifest } from './testing/tree-manifest.js';
import { isOverlayXattr } from './overlay-form.js';

const work = fs.mkdtempSync(join(tmpdir(), 'rbuild-umoci-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A minimal OCI layout at `dir` with one image `latest` made of `layers` (gzip blobs already in blobs/sha256). */
function writeLayout(dir: string, layers: Array<{ digest: string; size: number; diffId: string }>): void {
  const blobs = join(dir, 'blobs/sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const d = sha(b);
    fs.writeFileSync(join(blobs, d.slice(7)), b);
    return { digest: d, size: b.length };
  };
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } }));
  const c = put(config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  }));
  const m = put(manifest);
  fs.writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
  }));
}

const manifestOf = (root: string) => treeManifest(root, { mtime: true, skipXattr: isOverlayXattr }).filter((l) => !l.startsWith('. '));

describe('umoci interop', () => {
  it('umoci unpack of an image of rbuild layers gives the tree rbuild shows', async () => {
    const store = await createSnapshotter({ root: join(work, 'store'), driver: 'overlay' });
    const layout = join(work, 'layout');
    const sink = fileSink(join(layout, 'blobs/sha256'));
    const descs: Array<{ digest: string; size: number; diffId: string }> = [];
    let parent: Digest | undefined;
    for (const t of baseLayers()) {
      const gz = gzipSync(t);
      const { digest, size } = await sink.write(Readable.from([gz]));
      descs.push({ digest, size, diffId: sha(t) });
      const id = nextChainId(parent, sha(t));
      await store.unpack({ chainId: id, ...(parent ? { parent } : {}), diffId: sha(t), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', open: async () => Readable.from([gz]) });
      parent = id;
    }
    const a = await store.prepare('step', parent);
    mutate(a.root);
    const layer = (await store.diff('step', sink, { compression: 'gzip' }))!;
    descs.push({ digest: layer.digest, size: layer.size, diffId: layer.diffId });
    const top = nextChainId(parent, layer.diffId);
    await store.commit('step', top);
    const v = await store.view('v', top);
    const ours = manifestOf(v.root);
    await store.remove('v');

    writeLayout(layout, descs);
    const bundle = join(work, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${layout}:latest`, bundle], { stdio: 'pipe' });
    const theirs = manifestOf(join(bundle, 'rootfs'));
    expect(theirs).toEqual(ours);
  });

  it('layers written by umoci (Go archive/tar) extract to the tree umoci shows', async () => {
    const bundle = join(work, 'bundle');
    const rootfs = join(bundle, 'rootfs');
    // Changes made by a "foreign" builder, then committed by umoci as a new layer.
    fs.writeFileSync(join(rootfs, 'etc/umoci'), 'u'.repeat(200_000));
    fs.rmSync(join(rootfs, 'srv'), { recursive: true });
    fs.mkdirSync(join(rootfs, `deep/${'x'.repeat(120)}/${'y'.repeat(120)}`), { recursive: true });
    fs.writeFileSync(join(rootfs, `deep/${'x'.repeat(120)}/${'y'.repeat(120)}/long-name-file`), 'l');
    fs.chownSync(join(rootfs, 'etc/umoci'), 70000, 70001);
    // Whole seconds: Go's tar writer rounds sub-second mtimes to the nearest second, the kernel shows them truncated.
    for (const p of ['etc/umoci', 'etc', `deep/${'x'.repeat(120)}/${'y'.repeat(120)}/long-name-file`, `deep/${'x'.repeat(120)}/${'y'.repeat(120)}`, `deep/${'x'.repeat(120)}`, 'deep']) {
      fs.utimesSync(join(rootfs, p), 1_700_000_000, 1_700_000_000);
    }
    execFileSync('umoci', ['repack', '--image', `${join(work, 'layout')}:latest`, bundle], { stdio: 'pipe' });

    const layout = join(work, 'layout');
    const index = JSON.parse(fs.readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const blob = (d: string) => join(layout, 'blobs/sha256', d.slice(7));
    const manifest = JSON.parse(fs.readFileSync(blob(index.manifests.at(-1)!.digest), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string; mediaType: string }> };
    const config = JSON.parse(fs.readFileSync(blob(manifest.config.digest), 'utf8')) as { rootfs: { diff_ids: Digest[] } };
    const store = await createSnapshotter({ root: join(work, 'store2'), driver: 'copy' });
    let parent: Digest | undefined;
    for (const [i, l] of manifest.layers.entries()) {
      const diffId = config.rootfs.diff_ids[i]!;
      const id = nextChainId(parent, diffId);
      const r = await store.unpack({ chainId: id, ...(parent ? { parent } : {}), diffId, mediaType: l.mediaType, open: async () => fs.createReadStream(blob(l.digest)) });
      expect(r.warnings).toEqual([]);
      parent = id;
    }
    const v = await store.view('v', parent);
    const ours = manifestOf(v.root);
    await store.remove('v');
    expect(ours).toEqual(manifestOf(rootfs));
    expect(ours).toContainEqual(expect.stringMatching(/^etc\/umoci file 644 70000:70001 200000 /));
  });
});
