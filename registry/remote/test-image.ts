/** Builds small synthetic images in a store, for tests and benchmarks. */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ContentStore } from '../content-store.js';
import { MediaType, type Descriptor, type Digest, type ImageConfig, type Index, type Manifest, type Platform } from '../oci/types.js';

/** Options for makeTestImage. */
export interface TestImageOptions {
  /** Uncompressed sizes of the layers (random content, so digests are unique), stored as gzip (level 0: fast, and tools that sniff see real gzip). */
  layers: number[];
  platform?: Platform;
  /** Use Docker schema2 media types instead of OCI's. */
  docker?: boolean;
}

/** Writes random layers, a config and a manifest into the store; returns the manifest descriptor. */
export async function makeTestImage(store: ContentStore, opts: TestImageOptions): Promise<Descriptor> {
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers: Descriptor[] = [];
  for (const size of opts.layers) {
    const stored = await store.write(randomChunks(size).pipe(createGzip({ level: 0 })));
    layers.push({ mediaType: opts.docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, digest: stored.digest, size: stored.size });
  }
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant && { variant: platform.variant }),
    config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest as Digest) },
    history: layers.map(() => ({ created_by: 'test' })),
  };
  const configDesc = await store.writeBytes(
    Buffer.from(JSON.stringify(config)),
    opts.docker ? MediaType.dockerConfig : MediaType.ociConfig,
  );
  const mediaType = opts.docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifest: Manifest = { schemaVersion: 2, mediaType, config: configDesc, layers };
  const desc = await store.writeBytes(Buffer.from(JSON.stringify(manifest)), mediaType);
  return { ...desc, platform };
}

/** Writes an index over manifests already in the store. */
export async function makeTestIndex(store: ContentStore, manifests: Descriptor[]): Promise<Descriptor> {
  const index: Index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
  return store.writeBytes(Buffer.from(JSON.stringify(index)), MediaType.ociIndex);
}

/** A stream of `size` random bytes in 1 MiB chunks. */
export function randomChunks(size: number): Readable {
  let left = size;
  return Readable.from(
    (function* () {
      while (left > 0) {
        const n = Math.min(left, 1 << 20);
        left -= n;
        yield randomBytes(n);
      }
    })(),
  );
}
