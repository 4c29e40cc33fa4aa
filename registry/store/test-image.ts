/**
 * Builds small real images into a store for tests (and for anything that needs
 * a known image without a registry): tar layers made with node-tar, gzipped
 * with zlib, config and manifest written through the store.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import type { ContentStore } from '../content-store.js';
import { MediaType } from '../oci/types.js';
import type { Descriptor, Digest, ImageConfig, Manifest } from '../oci/types.js';
import { canonicalJson, sha256Digest } from '../oci/validate.js';

/** What makeTestImage wrote. */
export interface TestImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  diffIds: Digest[];
}

/** An uncompressed tar of the given files (path -> content), made by node-tar. */
export async function makeLayerTar(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'rbuild-layer-'));
  try {
    for (const [p, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, p)), { recursive: true });
      await writeFile(join(dir, p), content);
    }
    const chunks: Buffer[] = [];
    const stream = tar.create({ cwd: dir, portable: true, mtime: new Date(0) }, Object.keys(files).sort());
    for await (const c of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
    return Buffer.concat(chunks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes an image of one gzip layer per entry of `layers` into `store`; returns its descriptors. */
export async function makeTestImage(
  store: ContentStore,
  opts: { layers: Array<Record<string, string>>; architecture?: string; os?: string; created?: string; cmd?: string[]; gzip?: boolean },
): Promise<TestImage> {
  const layers: Descriptor[] = [];
  const diffIds: Digest[] = [];
  for (const files of opts.layers) {
    const raw = await makeLayerTar(files);
    diffIds.push(sha256Digest(raw));
    const gz = opts.gzip === false ? raw : gzipSync(raw);
    const mediaType = opts.gzip === false ? MediaType.ociLayer : MediaType.ociLayerGzip;
    const stored = await store.write(Readable.from([gz]), { digest: sha256Digest(gz), size: gz.length });
    layers.push({ mediaType, ...stored });
  }
  const config: ImageConfig = {
    created: opts.created ?? '2024-01-02T03:04:05Z',
    architecture: opts.architecture ?? hostArch(),
    os: opts.os ?? 'linux',
    config: { Cmd: opts.cmd ?? ['/bin/sh'], Env: ['PATH=/usr/bin:/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map(() => ({ created_by: 'test', created: '2024-01-02T03:04:05Z' })),
  };
  const configDesc = await store.writeBytes(canonicalJson(config), MediaType.ociConfig);
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers };
  const manifestDesc = await store.writeBytes(canonicalJson(manifest), MediaType.ociManifest);
  return { manifest: manifestDesc, config: configDesc, layers, diffIds };
}

function hostArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
}
