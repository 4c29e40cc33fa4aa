import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Descriptor } from '../oci/types.js';
import { createRegistryClient } from './client.js';
import { MemoryStore } from './memory-store.js';
import { pullImage } from './pull.js';
import { pushImage } from './push.js';
import { makeTestImage, makeTestIndex } from './test-image.js';

// skopeo (containers/image) against what rbuild pushes, and rbuild against what skopeo pushes,
// through the real registry from the global setup.
const registry = inject('registry');
const client = createRegistryClient();
afterAll(() => client.close());

const skopeo = (...args: string[]): string => execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Writes a MemoryStore's image as an OCI image layout directory. */
function writeLayout(store: MemoryStore, dir: string, desc: Descriptor, tag: string): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const [d, bytes] of store.blobs) writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), bytes);
  const entry = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations: { 'org.opencontainers.image.ref.name': tag } };
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
}

describe('interop with skopeo', () => {
  it('skopeo inspects and copies (verifying every digest) what rbuild pushes', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [10_000, 2_000_000] });
    await pushImage(src, desc, `${registry}/interop/from-rbuild:1`, { client, monolithicMax: 1 << 20, chunkSize: 1 << 19 });
    const info = JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${registry}/interop/from-rbuild:1`)) as { Digest: string; Layers: string[]; Architecture: string };
    expect(info.Digest).toBe(desc.digest);
    const manifest = JSON.parse(src.blobs.get(desc.digest)!.toString()) as { layers: Descriptor[] };
    expect(info.Layers).toEqual(manifest.layers.map((l) => l.digest));
    expect(info.Architecture).toBe('amd64');

    const out = mkdtempSync(join(tmpdir(), 'rbuild-skopeo-'));
    skopeo('copy', '--src-tls-verify=false', `docker://${registry}/interop/from-rbuild:1`, `oci:${out}:copied`);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    expect(index.manifests[0]!.digest).toBe(desc.digest);
    for (const l of manifest.layers) {
      expect(readFileSync(join(out, 'blobs', 'sha256', l.digest.slice(7))).equals(src.blobs.get(l.digest)!)).toBe(true);
    }
  });

  it('skopeo copies a multi-platform index rbuild pushed (--all)', async () => {
    const src = new MemoryStore();
    const a = await makeTestImage(src, { layers: [1000] });
    const b = await makeTestImage(src, { layers: [1000], platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    const idx = await makeTestIndex(src, [a, b]);
    await pushImage(src, idx, `${registry}/interop/multi:1`, { client });
    const raw = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${registry}/interop/multi:1`)) as { manifests: Descriptor[] };
    expect(raw.manifests.map((m) => m.digest)).toEqual([a.digest, b.digest]);
    const out = mkdtempSync(join(tmpdir(), 'rbuild-skopeo-'));
    skopeo('copy', '--all', '--src-tls-verify=false', `docker://${registry}/interop/multi:1`, `oci:${out}:all`);
  });

  it('rbuild pulls what skopeo pushes, in OCI and Docker schema2 form', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [4096, 300_000] });
    const dir = mkdtempSync(join(tmpdir(), 'rbuild-layout-'));
    writeLayout(src, dir, desc, 'v1');
    skopeo('copy', '--dest-tls-verify=false', `oci:${dir}:v1`, `docker://${registry}/interop/from-skopeo:oci`);
    skopeo('copy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${dir}:v1`, `docker://${registry}/interop/from-skopeo:v2s2`);
    for (const tag of ['oci', 'v2s2']) {
      const ref = `${registry}/interop/from-skopeo:${tag}`;
      const want = (JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${ref}`)) as { Digest: string }).Digest;
      const dst = new MemoryStore();
      const got = await pullImage(ref, dst, { client });
      expect(got.descriptor.digest).toBe(want);
      expect(got.descriptor.mediaType).toBe(
        tag === 'oci' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json',
      );
      // Same layer bytes, whatever the manifest format.
      const layers = got.manifest.layers.map((l) => dst.blobs.get(l.digest)!);
      const orig = (JSON.parse(src.blobs.get(desc.digest)!.toString()) as { layers: Descriptor[] }).layers.map((l) => src.blobs.get(l.digest)!);
      expect(layers.map((b) => b.length)).toEqual(orig.map((b) => b.length));
      expect(layers.every((b, i) => b.equals(orig[i]!))).toBe(true);
    }
  });
});
