import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MediaType } from '../oci/types.js';
import type { Index } from '../oci/types.js';
import { canonicalJson } from '../oci/validate.js';
import { listImages, prune, removeImage, resolveImage } from './images.js';
import { openStore, type OciLayoutStore } from './oci-layout-store.js';
import { hostPlatform, parsePlatform, selectManifest } from '../oci/platform.js';
import { makeTestImage } from './test-image.js';

let root: string;
let store: OciLayoutStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbuild-images-'));
  store = await openStore(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const past = new Date(Date.now() - 3600_000);
async function age(digests: string[]) {
  for (const d of digests) await utimes(store.blobPath(d as never), past, past);
}

describe('resolveImage', () => {
  it('finds an image by short name, full name, ID prefix and digest', async () => {
    const img = await makeTestImage(store, { layers: [{ a: '1' }] });
    await store.tag('docker.io/library/busybox:latest', img.manifest);
    for (const ref of ['busybox', 'docker.io/library/busybox:latest', img.config.digest.slice(7, 19), img.config.digest, `busybox@${img.manifest.digest}`]) {
      const r = await resolveImage(store, ref);
      expect(r.manifestDescriptor.digest).toBe(img.manifest.digest);
      expect(r.config.rootfs.diff_ids).toEqual(img.diffIds);
    }
    expect((await resolveImage(store, 'busybox')).name).toBe('docker.io/library/busybox:latest');
    await expect(resolveImage(store, 'alpine')).rejects.toMatchObject({ code: 'IMAGE_UNKNOWN' });
  });

  it('follows an index to the requested platform', async () => {
    const amd = await makeTestImage(store, { layers: [{ a: 'amd' }], architecture: 'amd64' });
    const arm = await makeTestImage(store, { layers: [{ a: 'arm' }], architecture: 'arm64' });
    const index: Index = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { ...amd.manifest, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm.manifest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { ...amd.manifest, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
      ],
    };
    const idx = await store.writeBytes(canonicalJson(index), MediaType.ociIndex);
    await store.tag('localhost/multi:1', idx);
    const host = await resolveImage(store, 'localhost/multi:1');
    expect(host.manifestDescriptor.digest).toBe(hostPlatform().architecture === 'arm64' ? arm.manifest.digest : amd.manifest.digest);
    expect(host.index?.manifests).toHaveLength(3);
    const a = await resolveImage(store, 'localhost/multi:1', { platform: parsePlatform('linux/arm64') });
    expect(a.config.architecture).toBe('arm64');
    await expect(resolveImage(store, 'localhost/multi:1', { platform: parsePlatform('linux/s390x') })).rejects.toMatchObject({ code: 'PLATFORM_UNKNOWN' });
    expect(selectManifest(index.manifests, { os: 'linux', architecture: 'arm', variant: 'v7' })).toBeUndefined();
  });
});

describe('listImages / removeImage', () => {
  it('lists with size and created, newest first, and removes by name or ID', async () => {
    const old = await makeTestImage(store, { layers: [{ a: '1' }], created: '2020-01-01T00:00:00Z' });
    const fresh = await makeTestImage(store, { layers: [{ b: '2' }, { c: '3' }], created: '2025-01-01T00:00:00Z' });
    await store.tag('docker.io/library/old:1', old.manifest);
    await store.tag('docker.io/library/old:2', old.manifest);
    await store.tag('docker.io/library/fresh:latest', fresh.manifest);
    const list = await listImages(store);
    expect(list.map((i) => i.name)).toEqual(['docker.io/library/fresh:latest', 'docker.io/library/old:1', 'docker.io/library/old:2']);
    expect(list[0]).toMatchObject({
      id: fresh.config.digest,
      created: '2025-01-01T00:00:00Z',
      size: fresh.manifest.size + fresh.config.size + fresh.layers[0]!.size + fresh.layers[1]!.size,
    });
    expect(await removeImage(store, 'old:1')).toEqual(['docker.io/library/old:1']);
    expect(await removeImage(store, fresh.config.digest.slice(7, 20))).toEqual(['docker.io/library/fresh:latest']);
    expect((await listImages(store)).map((i) => i.name)).toEqual(['docker.io/library/old:2']);
    await expect(removeImage(store, 'nothere')).rejects.toMatchObject({ code: 'IMAGE_UNKNOWN' });
  });
});

describe('prune', () => {
  it('removes unreferenced blobs only, keeps extra roots, fresh blobs, and cleans dead temp files', async () => {
    const kept = await makeTestImage(store, { layers: [{ k: '1' }] });
    const gone = await makeTestImage(store, { layers: [{ g: '1' }, { g: '2' }] });
    const viaRoot = await makeTestImage(store, { layers: [{ r: '1' }] });
    const loose = await store.write(Readable.from([Buffer.from('cache blob')]));
    await store.tag('localhost/kept:1', kept.manifest);
    const all = [kept, gone, viaRoot].flatMap((i) => [i.manifest.digest, i.config.digest, ...i.layers.map((l) => l.digest)]);
    await age([...all, loose.digest]);
    // A blob written "after prune started" (mtime in the future here) must survive.
    const fresh = await store.writeBytes(Buffer.from('fresh'), 'application/octet-stream');
    await utimes(store.blobPath(fresh.digest), new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
    // A dead writer's temp file (pid far above pid_max) is cleaned; our own are not touched.
    await writeFile(join(root, 'tmp', 'blob-4194304999-abcdef'), 'partial');
    await utimes(join(root, 'tmp', 'blob-4194304999-abcdef'), past, past);

    const res = await prune(store, { extraRoots: [viaRoot.manifest.digest, loose.digest] });
    expect(res.removed.sort()).toEqual([gone.manifest.digest, gone.config.digest, ...gone.layers.map((l) => l.digest)].sort());
    expect(res.freedBytes).toBe(gone.manifest.size + gone.config.size + gone.layers.reduce((a, l) => a + l.size, 0));
    for (const d of [kept.manifest.digest, ...kept.layers.map((l) => l.digest), viaRoot.config.digest, ...viaRoot.layers.map((l) => l.digest), loose.digest, fresh.digest]) {
      expect(await store.stat(d)).toBeDefined();
    }
    expect(await readdir(join(root, 'tmp'))).toEqual([`writer-${process.pid}`]);
    expect((await resolveImage(store, 'localhost/kept:1')).config.rootfs.diff_ids).toEqual(kept.diffIds);
  });

  it('spares the blobs of a live writer process until it exits', async () => {
    const old = await store.writeBytes(Buffer.from('old and unreferenced'), 'application/octet-stream');
    await age([old.digest]);
    const mod = join(inject('appDir'), 'dist/registry/store/oci-layout-store.js');
    // The child writes a blob it has not tagged yet, says so, and lives until its stdin closes.
    const script = `
      const { openStore } = await import(${JSON.stringify(mod)});
      const s = await openStore(process.argv[1]);
      const d = await s.writeBytes(Buffer.from('pulled, not tagged yet'), 'application/octet-stream');
      process.stdout.write(d.digest + '\\n');
      process.stdin.resume();
      process.stdin.on('end', () => process.exit(0));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, root], { stdio: ['pipe', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const pending = line.toString().trim() as `sha256:${string}`;
    const first = await prune(store);
    expect(first.removed).toEqual([old.digest]);
    expect(await store.stat(pending)).toBeDefined();
    child.stdin.end();
    await once(child, 'exit');
    await age([pending]);
    expect((await prune(store)).removed).toEqual([pending]);
    expect(await readdir(join(root, 'tmp'))).toEqual([`writer-${process.pid}`]);
  });

  it('writing an existing blob refreshes its mtime so prune spares it', async () => {
    const d = await store.writeBytes(Buffer.from('x'), 'application/octet-stream');
    await age([d.digest]);
    const before = (await stat(store.blobPath(d.digest))).mtimeMs;
    await store.write(Readable.from([Buffer.from('x')]), { digest: d.digest });
    expect((await stat(store.blobPath(d.digest))).mtimeMs).toBeGreaterThan(before);
  });
});
