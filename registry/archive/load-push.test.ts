import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MediaType } from '../oci/types.js';
import { createRegistryClient } from '../remote/client.js';
import { pullImage } from '../remote/pull.js';
import { pushImage } from '../remote/push.js';
import { resolveImage } from '../store/images.js';
import { openStore } from '../store/oci-layout-store.js';
import { makeTestImage } from '../store/test-image.js';
import { loadArchive } from './load-archive.js';

// A docker-archive's layers are plain tars; rbuild keeps them so (OCI media type
// `...layer.v1.tar`) and pushes them as they are. Against the real registry and skopeo.
const run = promisify(execFile);
const registry = inject('registry');
const client = createRegistryClient({ retry: { baseDelayMs: 10 } });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbuild-load-push-'));
});
afterAll(async () => {
  await client.close();
  await rm(dir, { recursive: true, force: true });
});

describe('push of a loaded docker-archive', () => {
  it('pushes uncompressed layers with the OCI tar media type; skopeo verifies and rbuild pulls them back', async () => {
    const src = await openStore(join(dir, 'src'));
    const img = await makeTestImage(src, { layers: [{ 'etc/os-release': 'ID=test\n' }, { 'app/data.txt': 'y'.repeat(5000) }] });
    await src.tag('docker.io/library/demo:1', img.manifest);
    // skopeo writes the docker-archive, as `docker save` would: plain tar layers.
    const file = join(dir, 'demo.tar');
    await run('skopeo', ['copy', '--quiet', `oci:${src.layoutDir}:docker.io/library/demo:1`, `docker-archive:${file}:localhost/demo:1`]);

    const store = await openStore(join(dir, 'loaded'));
    await loadArchive(store, createReadStream(file));
    const loaded = await resolveImage(store, 'localhost/demo:1');
    expect(loaded.manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayer, MediaType.ociLayer]);
    // Uncompressed: each layer's digest is its diff_id.
    expect(loaded.manifest.layers.map((l) => l.digest)).toEqual(loaded.config.rootfs.diff_ids);

    const ref = `${registry}/test/loaded:1`;
    const pushed = await pushImage(store, loaded.descriptor, ref, { client });
    expect(pushed.digest).toBe(loaded.descriptor.digest);
    const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])).stdout) as { mediaType: string; layers: Array<{ mediaType: string }> };
    expect(raw.mediaType).toBe(MediaType.ociManifest);
    expect(raw.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayer, MediaType.ociLayer]);
    // skopeo copy verifies every blob's digest on the way.
    await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${join(dir, 'skopeo-out')}:x`]);

    const back = await openStore(join(dir, 'back'));
    const got = await pullImage(ref, back, { client });
    expect(got.config.rootfs.diff_ids).toEqual(loaded.config.rootfs.diff_ids);
    expect(got.manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayer, MediaType.ociLayer]);
  });
});
