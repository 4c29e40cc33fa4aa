import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type BenchRegistry } from '../../bench/lib/registry.js';
import { busyboxRootfsTar } from './base-images.js';
import { ociArch, ociImageFromTar, pushLayoutToRegistry } from './oci-image-from-tar.js';

const sha256 = (path: string): string => `sha256:${execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0]}`;

describe('ociImageFromTar', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oci-from-tar-'));
  let registry: BenchRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a valid one-layer layout whose digests match the bytes', async () => {
    const tar = busyboxRootfsTar();
    const layout = join(dir, 'a');
    const r = await ociImageFromTar(tar, layout, { tag: 'v1' });
    expect(r.diffId).toBe(sha256(tar));
    expect(sha256(join(layout, 'blobs/sha256', r.layerDigest.slice(7)))).toBe(r.layerDigest);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(r.manifestDigest);
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('v1');
    // skopeo reads it as an image: the layout is valid for a real consumer.
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${layout}:v1`], { encoding: 'utf8' }));
    expect(inspect.Layers).toEqual([r.layerDigest]);
    expect(inspect.Architecture).toBe(ociArch());
    // Deterministic: the same tarball gives the same manifest.
    const again = await ociImageFromTar(tar, join(dir, 'b'), { tag: 'v1' });
    expect(again.manifestDigest).toBe(r.manifestDigest);
  });

  it('pushes a layout to a real registry', async () => {
    const layout = join(dir, 'a');
    await pushLayoutToRegistry(layout, `${registry.host}/fixtures/busybox:v1`, { tag: 'v1' });
    const inspect = JSON.parse(
      execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/fixtures/busybox:v1`], { encoding: 'utf8' }),
    );
    expect(inspect.Layers.length).toBe(1);
  });
});
