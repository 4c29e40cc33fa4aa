import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MediaType, type Descriptor, type Manifest } from '../oci/types.js';
import { canonicalJson, sha256Digest } from '../oci/validate.js';
import { compressImage, outgoingStore, rewriteLayers } from './compress-image.js';
import { CompressedBlobs, compressedBlobsDir, compressedMediaType, zlibCompressor, type StreamCompressor } from './compressed-blobs.js';
import { openStore, type OciLayoutStore } from './oci-layout-store.js';
import { makeTestImage } from './test-image.js';

let root: string;
let store: OciLayoutStore;
let calls: number;
/** zlib gzip that counts how many streams it was given. */
const counting: StreamCompressor = (src, opts, signal) => {
  calls++;
  return zlibCompressor(src, opts, signal);
};
const blobsOf = (s: OciLayoutStore) => new CompressedBlobs(s, compressedBlobsDir(s.root), s.tmpDir, counting);

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbuild-compressed-'));
  store = await openStore(root, { fsync: false });
  calls = 0;
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('compressedMediaType', () => {
  it('maps uncompressed tars and knows Docker has no zstd', () => {
    expect(compressedMediaType(MediaType.ociLayer, 'gzip')).toBe(MediaType.ociLayerGzip);
    expect(compressedMediaType(MediaType.ociLayer, 'zstd')).toBe(MediaType.ociLayerZstd);
    expect(compressedMediaType('application/vnd.docker.image.rootfs.diff.tar', 'gzip')).toBe(MediaType.dockerLayerGzip);
    expect(compressedMediaType('application/vnd.docker.image.rootfs.diff.tar', 'zstd')).toBeUndefined();
    expect(compressedMediaType(MediaType.ociLayerGzip, 'gzip')).toBeUndefined();
  });
});

describe('CompressedBlobs', () => {
  it('compresses an uncompressed layer once and remembers it across instances', async () => {
    const img = await makeTestImage(store, { layers: [{ 'a.txt': 'hello '.repeat(1000) }], gzip: false });
    const layer = img.layers[0]!;
    expect(layer.digest).toBe(img.diffIds[0]);
    const first = blobsOf(store);
    const gz = await first.layer(layer, { format: 'gzip' });
    expect(gz.mediaType).toBe(MediaType.ociLayerGzip);
    expect(gz.digest).not.toBe(layer.digest);
    const bytes = await store.readBytes(gz.digest);
    expect(bytes.length).toBe(gz.size);
    expect(sha256Digest(gunzipSync(bytes))).toBe(img.diffIds[0]);
    expect([first.compressedCount, first.reusedCount, calls]).toEqual([1, 0, 1]);

    const second = blobsOf(store);
    expect(await second.layer(layer, { format: 'gzip' })).toEqual(gz);
    expect([second.compressedCount, second.reusedCount, calls]).toEqual([0, 1, 1]);
    // Another level is another blob.
    const l1 = await second.layer(layer, { format: 'gzip', level: 1 });
    expect(l1.digest).not.toBe(gz.digest);
    expect(second.compressedCount).toBe(1);
  });

  it('names the remembered compressed blobs of given diff IDs (for prune to keep)', async () => {
    const img = await makeTestImage(store, { layers: [{ 'a.txt': 'p' }, { 'b.txt': 'q' }], gzip: false });
    expect(await blobsOf(store).rememberedFor(img.diffIds)).toEqual([]);
    const gz = await blobsOf(store).layer(img.layers[0]!, { format: 'gzip' });
    expect(await blobsOf(store).rememberedFor(img.diffIds)).toEqual([gz.digest]);
    expect(await blobsOf(store).rememberedFor([img.diffIds[1]!])).toEqual([]);
  });

  it('compresses again when the remembered blob was pruned', async () => {
    const img = await makeTestImage(store, { layers: [{ 'a.txt': 'x' }], gzip: false });
    const gz = await blobsOf(store).layer(img.layers[0]!, { format: 'gzip' });
    await store.deleteBlob(gz.digest);
    const again = blobsOf(store);
    expect(await again.layer(img.layers[0]!, { format: 'gzip' })).toEqual(gz);
    expect(again.compressedCount).toBe(1);
    expect(await store.stat(gz.digest)).toEqual({ size: gz.size });
  });

  it('shares one compression between concurrent callers and media types of one tar', async () => {
    const img = await makeTestImage(store, { layers: [{ 'a.txt': 'y'.repeat(5000) }], gzip: false });
    const l = img.layers[0]!;
    const b = blobsOf(store);
    const [x, y] = await Promise.all([
      b.layer(l, { format: 'gzip' }),
      b.layer({ ...l, mediaType: 'application/vnd.docker.image.rootfs.diff.tar' }, { format: 'gzip' }),
    ]);
    expect(calls).toBe(1);
    expect(x.digest).toBe(y.digest);
    expect(y.mediaType).toBe(MediaType.dockerLayerGzip);
  });

  it('leaves compressed layers alone and refuses zstd in a Docker manifest', async () => {
    const img = await makeTestImage(store, { layers: [{ 'a.txt': 'z' }] });
    const b = blobsOf(store);
    expect(await b.layer(img.layers[0]!, { format: 'gzip' })).toBe(img.layers[0]);
    await expect(b.layer({ ...img.layers[0]!, mediaType: 'application/vnd.docker.image.rootfs.diff.tar' }, { format: 'zstd' })).rejects.toMatchObject({ code: 'UNSUPPORTED_COMPRESSION' });
    expect(calls).toBe(0);
  });

  it('refuses a corrupt uncompressed blob instead of publishing it', async () => {
    const img = await makeTestImage(store, { layers: [{ 'a.txt': 'good' }], gzip: false });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(store.blobPath(img.layers[0]!.digest), 'tampered');
    await expect(blobsOf(store).layer(img.layers[0]!, { format: 'gzip' })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
});

describe('rewriteLayers', () => {
  it('replaces changed layers, keeps unknown fields, and says when nothing changed', () => {
    const m = { schemaVersion: 2, layers: [{ mediaType: 'a', digest: 'sha256:1', size: 1, annotations: { k: 'v' } }], extra: true };
    expect(rewriteLayers(m, [{ mediaType: 'a', digest: 'sha256:1' as never, size: 1 }])).toBeUndefined();
    expect(rewriteLayers(m, [{ mediaType: 'b', digest: 'sha256:2' as never, size: 2 }])).toEqual({
      schemaVersion: 2, extra: true, layers: [{ mediaType: 'b', digest: 'sha256:2', size: 2, annotations: { k: 'v' } }],
    });
  });
});

describe('compressImage', () => {
  it('rewrites the manifest with compressed layers and the same config', async () => {
    const img = await makeTestImage(store, { layers: [{ 'a.txt': 'one' }, { 'b.txt': 'two' }], gzip: false });
    const b = blobsOf(store);
    const out = await compressImage(store, img.manifest, { format: 'gzip' }, (l, c, s) => b.layer(l, c, s));
    expect(out.digest).not.toBe(img.manifest.digest);
    const m = JSON.parse((await store.readBytes(out.digest)).toString()) as Manifest;
    expect(m.config).toEqual(img.config);
    expect(m.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayerGzip, MediaType.ociLayerGzip]);
    for (const [i, l] of m.layers.entries()) expect(sha256Digest(gunzipSync(await store.readBytes(l.digest)))).toBe(img.diffIds[i]);
    // Done once: the same image again gives the same manifest without compressing.
    const again = await compressImage(store, img.manifest, { format: 'gzip' }, (l, c, s) => blobsOf(store).layer(l, c, s));
    expect(again).toEqual(out);
    expect(calls).toBe(2);
  });

  it('through an outgoingStore, the rewritten manifest stays in memory; the compressed layers are stored', async () => {
    const img = await makeTestImage(store, { layers: [{ 'a.txt': 'mem' }], gzip: false });
    const out = outgoingStore(store);
    const d = await compressImage(out, img.manifest, { format: 'gzip' }, (l, c) => blobsOf(store).layer(l, c));
    expect(await store.stat(d.digest)).toBeUndefined();
    const m = JSON.parse((await out.readBytes(d.digest)).toString()) as Manifest;
    expect(await store.stat(m.layers[0]!.digest)).toEqual({ size: m.layers[0]!.size });
  });

  it('returns the descriptor itself when every layer is compressed already', async () => {
    const img = await makeTestImage(store, { layers: [{ 'a.txt': 'one' }] });
    expect(await compressImage(store, img.manifest, { format: 'gzip' }, (l, c) => blobsOf(store).layer(l, c))).toBe(img.manifest);
  });

  it('rewrites the stored children of an index', async () => {
    const img = await makeTestImage(store, { layers: [{ 'a.txt': 'one' }], gzip: false });
    const absent: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256Digest(Buffer.from('elsewhere')), size: 9, platform: { os: 'linux', architecture: 'riscv64' } };
    const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...img.manifest, platform: { os: 'linux', architecture: 'amd64' } }, absent] };
    const idx = await store.writeBytes(canonicalJson(index), MediaType.ociIndex);
    const out = await compressImage(store, idx, { format: 'gzip' }, (l, c) => blobsOf(store).layer(l, c));
    const got = JSON.parse((await store.readBytes(out.digest)).toString()) as { manifests: Descriptor[] };
    expect(got.manifests[0]!.digest).not.toBe(img.manifest.digest);
    expect(got.manifests[0]!.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(got.manifests[1]).toEqual(absent);
  });
});
