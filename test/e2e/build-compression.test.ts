// `build --compression-format`: the image has the asked-for layers even when every step is a cache hit
// on plain-tar layers that a build without the flag committed (the layers are mapped at the end, as a push maps them).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../support/unprivileged.js';
import { blobPath, buildDirs, builtImage, busybox, events, rbuild, writeContext } from './build-fixtures.js';

afterAll(removeTempDirs);

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('build --compression-format after a build without it', () => {
  it('gives every layer the format, cache hits included; the digests verify and skopeo/umoci read the image', async () => {
    const { store, ctx, meta } = buildDirs('rbuild-compress-');
    writeContext(ctx, { Dockerfile: `FROM ${busybox()}\nRUN echo run > /r\nCOPY f /f\n`, f: 'copied\n' });
    const plain = await rbuild(['build', '--root', store, '--metadata-file', meta, '-t', 'cmp:plain', ctx]);
    expect(plain.code).toBe(0);
    expect(builtImage(store, meta).manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+gzip', // the base, as pulled
      'application/vnd.oci.image.layer.v1.tar',
      'application/vnd.oci.image.layer.v1.tar',
    ]);

    const r = await rbuild(['build', '--root', store, '--metadata-file', meta, '--progress=json', '--compression-format', 'gzip', '-t', 'cmp:gzip', ctx]);
    expect(r.code).toBe(0);
    // Both steps came from the cache: the plain tars of the first build.
    expect(events(r.stderr).filter((e) => e.type === 'step-cached').length).toBe(2);
    const { manifest, config } = builtImage(store, meta);
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(Array(3).fill('application/vnd.oci.image.layer.v1.tar+gzip'));
    manifest.layers.forEach((l: { digest: string; size: number }, i: number) => {
      const blob = readFileSync(blobPath(store, l.digest));
      expect(sha256(blob)).toBe(l.digest);
      expect(blob.length).toBe(l.size);
      expect(sha256(gunzipSync(blob))).toBe(config.rootfs.diff_ids[i]);
    });

    // Other tools read it: skopeo copies (verifying digests) and umoci unpacks it.
    const out = join(tempDir('rbuild-compress-read-'), 'img');
    execFileSync('skopeo', ['copy', '--quiet', `oci:${join(store, 'oci')}:docker.io/library/cmp:gzip`, `oci:${out}:x`]);
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${out}:x`, `${out}-bundle`]);
    expect(readFileSync(join(`${out}-bundle`, 'rootfs/r'), 'utf8')).toBe('run\n');
    expect(readFileSync(join(`${out}-bundle`, 'rootfs/f'), 'utf8')).toBe('copied\n');

    // zstd: the build's own layers; the pulled base keeps its gzip (as a push leaves compressed layers).
    const z = await rbuild(['build', '--root', store, '--metadata-file', meta, '--compression-format', 'zstd', '-t', 'cmp:zstd', ctx]);
    expect(z.code).toBe(0);
    expect(builtImage(store, meta).manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.layer.v1.tar+zstd',
      'application/vnd.oci.image.layer.v1.tar+zstd',
    ]);

    // Docker manifests: Docker's gzip layer type.
    const d = await rbuild(['build', '--root', store, '--metadata-file', meta, '--format', 'docker', '--compression-format', 'gzip', '-t', 'cmp:docker', ctx]);
    expect(d.code).toBe(0);
    expect(builtImage(store, meta).manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(Array(3).fill('application/vnd.docker.image.rootfs.diff.tar.gzip'));

    // The default path is unchanged: a build without the flag still hits the cache and keeps plain tars.
    const again = await rbuild(['build', '--root', store, '--metadata-file', meta, '--progress=json', '-t', 'cmp:plain', ctx]);
    expect(again.code).toBe(0);
    expect(events(again.stderr).filter((e) => e.type === 'step-cached').length).toBe(2);
    expect(builtImage(store, meta).manifest.layers[1].mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
  });
});
