import { describe, expect, it } from 'vitest';
import { compressBuiltImage, parseCompressionChoice } from './export-compression.js';
import { buildMetadata } from './commands/build.js';

describe('parseCompressionChoice', () => {
  it('defaults to gzip at its default level and checks the level per format', () => {
    expect(parseCompressionChoice(undefined, undefined)).toEqual({ format: 'gzip' });
    expect(parseCompressionChoice('zstd', '19')).toEqual({ format: 'zstd', level: 19 });
    expect(() => parseCompressionChoice('gzip', '10')).toThrow(/0 to 9/);
    expect(() => parseCompressionChoice('xz', undefined)).toThrow(/gzip or zstd/);
  });
});

describe('buildMetadata', () => {
  it('names the pushed manifest digest when pushed, the local one otherwise; the image ID either way', () => {
    const r = { descriptor: { digest: 'sha256:local' }, imageId: 'sha256:config', tags: ['r/a:1'], size: 3, pushed: [] as Array<{ digest: string }> };
    expect(buildMetadata(r)).toEqual({ 'containerimage.digest': 'sha256:local', 'containerimage.config.digest': 'sha256:config', 'image.name': 'r/a:1', size: 3 });
    expect(buildMetadata({ ...r, pushed: [{ digest: 'sha256:pushed' }] })).toMatchObject({ 'containerimage.digest': 'sha256:pushed', 'rbuild.local.digest': 'sha256:local' });
  });
});

describe('compressBuiltImage', () => {
  it('compresses the plain-tar layers of a stored image, keeps compressed ones, and returns an image without plain tars as it is', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { gunzipSync, gzipSync } = await import('node:zlib');
    const { openStore } = await import('../../registry/store/oci-layout-store.js');
    const root = mkdtempSync(join(tmpdir(), 'rbuild-cbi-'));
    try {
      const store = await openStore(root);
      const tar = Buffer.alloc(1024, 0);
      const plain = await store.writeBytes(tar, 'application/vnd.oci.image.layer.v1.tar');
      const gz = await store.writeBytes(gzipSync(Buffer.alloc(1024, 0)), 'application/vnd.oci.image.layer.v1.tar+gzip');
      const config = await store.writeBytes(Buffer.from('{}'), 'application/vnd.oci.image.config.v1+json');
      const manifest = { schemaVersion: 2 as const, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [gz, plain] };
      const descriptor = await store.writeBytes(Buffer.from(JSON.stringify(manifest)), manifest.mediaType);
      const out = await compressBuiltImage(store, { descriptor, manifest, extra: 1 }, { format: 'gzip' });
      expect(out.extra).toBe(1);
      expect(out.descriptor.digest).not.toBe(descriptor.digest);
      expect(out.manifest.layers[0]).toEqual(gz);
      expect(out.manifest.layers[1]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      expect(gunzipSync(await store.readBytes(out.manifest.layers[1]!.digest))).toEqual(tar);
      expect(JSON.parse((await store.readBytes(out.descriptor.digest)).toString()).layers).toEqual(out.manifest.layers);
      expect(await compressBuiltImage(store, out, { format: 'gzip' })).toBe(out);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
