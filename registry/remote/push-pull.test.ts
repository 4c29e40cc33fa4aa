import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openStore } from '../store/oci-layout-store.js';
import { listImages, resolveImage } from '../store/images.js';
import { parseReference } from '../reference.js';
import { createRegistryClient } from './client.js';
import { MemoryStore } from './memory-store.js';
import { pullImage } from './pull.js';
import { pushImage, type PushEvent } from './push.js';
import { makeTestImage, makeTestIndex } from './test-image.js';

// Against the real registry (Debian's docker-registry) started by the global setup.
const registry = inject('registry');
const client = createRegistryClient({ retry: { baseDelayMs: 10 } });
afterAll(() => client.close());

describe('push and pull against the real registry', () => {
  it('round-trips an image with identical digests (monolithic and chunked uploads)', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [0, 1024, 300_000, 3_500_000] });
    const ref = `${registry}/test/roundtrip:1`;
    const events: PushEvent[] = [];
    const pushed = await pushImage(src, desc, ref, {
      client, monolithicMax: 1 << 20, chunkSize: 1 << 20, onProgress: (e) => events.push(e),
    });
    expect(pushed.digest).toBe(desc.digest);
    expect(events.filter((e) => e.type === 'blob-done')).toHaveLength(5);
    expect(events.at(-1)).toMatchObject({ type: 'manifest', digest: desc.digest });

    const dst = new MemoryStore();
    const pulled = await pullImage(ref, dst, { client });
    expect(pulled.descriptor.digest).toBe(desc.digest);
    expect(pulled.name).toBe(`${registry}/test/roundtrip:1`);
    expect(await dst.resolve(pulled.name)).toMatchObject({ digest: desc.digest });
    for (const l of pulled.manifest.layers) expect(dst.blobs.get(l.digest)!.equals(src.blobs.get(l.digest)!)).toBe(true);

    // Again: nothing is downloaded or uploaded twice.
    const writes = new Map(dst.writes);
    await pullImage(ref, dst, { client });
    for (const l of pulled.manifest.layers) expect(dst.writes.get(l.digest)).toBe(writes.get(l.digest));
    const again: PushEvent[] = [];
    await pushImage(src, desc, ref, { client, onProgress: (e) => again.push(e) });
    expect(again.filter((e) => e.type === 'blob-done')).toHaveLength(0);
    expect(again.filter((e) => e.type === 'blob-exists')).toHaveLength(5);
  });

  it('pulls by digest and with Docker schema2 media types', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [2048], docker: true });
    await pushImage(src, desc, `${registry}/test/docker:v2`, { client });
    const dst = new MemoryStore();
    const pulled = await pullImage(`${registry}/test/docker@${desc.digest}`, dst, { client });
    expect(pulled.descriptor).toMatchObject({ digest: desc.digest, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' });
  });

  it('pushes an index and pulls the requested platform from it', async () => {
    const src = new MemoryStore();
    const amd = await makeTestImage(src, { layers: [1000], platform: { os: 'linux', architecture: 'amd64' } });
    const arm = await makeTestImage(src, { layers: [1000], platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    const idx = await makeTestIndex(src, [amd, arm]);
    const pushed = await pushImage(src, idx, `${registry}/test/multi:1`, { client });
    expect(pushed.digest).toBe(idx.digest);
    const dst = new MemoryStore();
    const got = await pullImage(`${registry}/test/multi:1`, dst, { client, platform: { os: 'linux', architecture: 'arm64' } });
    expect(got.descriptor.digest).toBe(arm.digest);
    expect(got.config.architecture).toBe('arm64');
    await expect(
      pullImage(`${registry}/test/multi:1`, new MemoryStore(), { client, platform: { os: 'linux', architecture: 's390x' } }),
    ).rejects.toMatchObject({ code: 'PLATFORM_NOT_FOUND', message: expect.stringContaining('offered: linux/amd64, linux/arm64/v8') });
  });

  it('stores a pulled index with only the chosen platform below it, and pushes it whole or as that platform', async () => {
    const src = new MemoryStore();
    const amd = await makeTestImage(src, { layers: [1500], platform: { os: 'linux', architecture: 'amd64' } });
    const arm = await makeTestImage(src, { layers: [1600], platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    const idx = await makeTestIndex(src, [amd, arm]);
    await pushImage(src, idx, `${registry}/test/idx:1`, { client });
    const root = mkdtempSync(join(tmpdir(), 'rbuild-index-store-'));
    try {
      const store = await openStore(root);
      const got = await pullImage(`${registry}/test/idx:1`, store, { client, platform: { os: 'linux', architecture: 'arm64' } });
      // The name points at the index (the digest the registry shows); the image is arm64's.
      expect(got.tagged).toMatchObject({ digest: idx.digest, mediaType: 'application/vnd.oci.image.index.v1+json' });
      expect(got.descriptor.digest).toBe(arm.digest);
      expect(await store.resolve(got.name)).toMatchObject({ digest: idx.digest });
      expect(await store.stat(arm.digest)).toBeDefined();
      expect(await store.stat(amd.digest)).toBeUndefined();
      // images and inspect follow the index to what is stored, even on a host of another platform.
      const img = await resolveImage(store, got.name);
      expect(img.manifestDescriptor.digest).toBe(arm.digest);
      expect(img.index?.manifests).toHaveLength(2);
      expect((await listImages(store)).find((i) => i.name === got.name)).toMatchObject({ platform: 'linux/arm64/v8', id: got.manifest.config.digest });
      await expect(resolveImage(store, got.name, { platform: { os: 'linux', architecture: 'amd64' } })).rejects.toMatchObject({
        code: 'PLATFORM_UNKNOWN', message: expect.stringContaining('not stored here'),
      });

      // Back to its own repository: the other platform is there already, so the whole index goes.
      const same = await pushImage(store, got.tagged, `${registry}/test/idx:again`, { client });
      expect(same).toMatchObject({ digest: idx.digest, mediaType: 'application/vnd.oci.image.index.v1+json' });
      // To a new repository: only arm64 is here, so its manifest is pushed under the tag, and said so.
      const events: PushEvent[] = [];
      const other = await pushImage(store, got.tagged, `${registry}/test/idx-copy:1`, { client, onProgress: (e) => events.push(e) });
      expect(other).toMatchObject({ digest: arm.digest, size: arm.size });
      expect(events).toContainEqual({ type: 'partial-index', digest: idx.digest, platform: 'linux/arm64/v8', missing: ['linux/amd64'] });
      expect((await client.getManifest(parseReference(`${registry}/test/idx-copy:1`))).digest).toBe(arm.digest);
      // --platform asks for one platform's manifest explicitly; a platform not stored is a clear error.
      const one = await pushImage(store, got.tagged, `${registry}/test/idx:arm`, { client, platform: { os: 'linux', architecture: 'arm64' } });
      expect(one.digest).toBe(arm.digest);
      await expect(pushImage(store, got.tagged, `${registry}/test/idx:amd`, { client, platform: { os: 'linux', architecture: 'amd64' } }))
        .rejects.toMatchObject({ code: 'PLATFORM_NOT_FOUND' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('mounts blobs from another repository instead of uploading them', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [50_000, 60_000] });
    await pushImage(src, desc, `${registry}/test/base:1`, { client });
    const events: PushEvent[] = [];
    await pushImage(src, desc, `${registry}/test/derived:1`, { client, mountFrom: ['test/base'], onProgress: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'blob-mounted')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'blob-done')).toHaveLength(0);
  });

  it('says clearly when the image does not exist', async () => {
    const err = await pullImage(`${registry}/test/absent:1`, new MemoryStore(), { client }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MANIFEST_UNKNOWN', status: 404, registry });
    expect(String(err)).toContain(`pulling ${registry}/test/absent:1: 404 Not Found`);
    expect((err as { hint?: string }).hint).toMatch(/check the repository name/);
  });

  it('pulls into the real OCI layout store and pushes back out of it', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [70_000, 1_200_000] });
    await pushImage(src, desc, `${registry}/test/layout:1`, { client });
    const root = mkdtempSync(join(tmpdir(), 'rbuild-layout-store-'));
    const store = await openStore(root);
    const got = await pullImage(`${registry}/test/layout:1`, store, { client });
    expect(await store.resolve(got.name)).toMatchObject({ digest: desc.digest });
    for (const l of got.manifest.layers) expect(readFileSync(store.blobPath(l.digest)).equals(src.blobs.get(l.digest)!)).toBe(true);
    // Push reads file ranges from the store (chunked upload).
    const back = await pushImage(store, got.descriptor, `${registry}/test/layout-copy:1`, { client, monolithicMax: 100_000, chunkSize: 500_000 });
    expect(back.digest).toBe(desc.digest);
    // Push does not hash local blobs again; the registry does, so a blob damaged on disk since it
    // was stored is refused (never published under the wrong digest) with a hint at the local store.
    const layer = got.manifest.layers[0]!;
    const bytes = readFileSync(store.blobPath(layer.digest));
    bytes[100] = bytes[100]! ^ 0xff;
    chmodSync(store.blobPath(layer.digest), 0o644);
    writeFileSync(store.blobPath(layer.digest), bytes);
    await expect(pushImage(store, got.descriptor, `${registry}/test/layout-damaged:1`, { client })).rejects.toMatchObject({
      code: 'DIGEST_INVALID', hint: expect.stringContaining('local copy is damaged'),
    });
    rmSync(root, { recursive: true, force: true });
  });

  it('HEADs manifests', async () => {
    expect(await client.headManifest(parseReference(`${registry}/test/absent:1`))).toBeUndefined();
  });
});
