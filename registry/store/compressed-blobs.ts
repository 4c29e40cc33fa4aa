/**
 * Compressed forms of layers the store keeps uncompressed. Builds commit plain
 * tars (as buildah and Docker's classic store do: committing is on the critical
 * path, compressing is not); an image leaving the machine (push, cache export,
 * OCI archive) needs gzip or zstd. Each layer is compressed once per format and
 * level: the compressed blob goes into the store and a small mapping file
 * (`<root>/cache/compressed-blobs/<diff-id hex>.<format>-<level>`) remembers it,
 * so a second push sends the same bytes (same digest: the registry says "exists")
 * and spends no CPU. A mapping whose blob is gone (prune) is recomputed.
 *
 * The compressor is injected: the fast one (parallel libdeflate, `zstd`) is the
 * snapshotter's, which registry does not import; builder wires it. Without one,
 * gzip goes through node:zlib on one core.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { addAbortSignal, pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ContentStore } from '../content-store.js';
import { isDigest } from '../oci/validate.js';
import { MediaType, type Descriptor, type Digest } from '../oci/types.js';
import { StoreError } from './store-error.js';

/** Layer compressions an image can leave the machine with. */
export type ExportCompression = 'gzip' | 'zstd';

/** What to compress uncompressed layers to. */
export interface CompressionChoice {
  format: ExportCompression;
  /** The format's default (gzip 6, zstd 3) when omitted. */
  level?: number;
}

/** Compresses a byte stream (structurally snapshotter's compressStream). */
export type StreamCompressor = (
  src: AsyncIterable<Uint8Array>,
  opts: { compression: ExportCompression; level?: number },
  signal?: AbortSignal,
) => AsyncIterable<Uint8Array>;

/** The store as compression needs it: blobs, plus a verified read when it has one. */
export type CompressStore = ContentStore & { readVerified?(digest: Digest, signal?: AbortSignal): Promise<Readable> };

const DEFAULT_LEVEL: Record<ExportCompression, number> = { gzip: 6, zstd: 3 };

/** Uncompressed layer media types and their compressed counterparts. */
const COMPRESSED_TYPE: Record<string, Record<ExportCompression, string | undefined>> = {
  [MediaType.ociLayer]: { gzip: MediaType.ociLayerGzip, zstd: MediaType.ociLayerZstd },
  'application/vnd.oci.image.layer.nondistributable.v1.tar': {
    gzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
    zstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  },
  // Docker schema2 has no zstd layer type: such an image must be built with --format oci for zstd.
  [MediaType.dockerLayer]: { gzip: MediaType.dockerLayerGzip, zstd: undefined },
};

/** Whether a layer media type is an uncompressed tar that an exit point compresses. */
export function isUncompressedLayer(mediaType: string): boolean {
  return mediaType in COMPRESSED_TYPE;
}

/** The media type of `mediaType` compressed with `format`; undefined when there is none (docker + zstd). */
export function compressedMediaType(mediaType: string, format: ExportCompression): string | undefined {
  return COMPRESSED_TYPE[mediaType]?.[format];
}

/** gzip through node:zlib (one core): the fallback when no compressor is injected. */
export const zlibCompressor: StreamCompressor = (src, opts, signal) => {
  if (opts.compression !== 'gzip') throw new StoreError('UNSUPPORTED_COMPRESSION', `${opts.compression} needs a compressor (none was configured)`);
  // pipeline: an error on either side (a corrupt source) reaches the consumer once, and both streams are destroyed.
  const input = Readable.from(src, { objectMode: false });
  if (signal) addAbortSignal(signal, input);
  return pipeline(input, createGzip({ level: opts.level ?? DEFAULT_LEVEL.gzip }), () => undefined);
};

/** What a mapping file holds. */
interface Remembered {
  digest: Digest;
  size: number;
}

/** Compressed forms of uncompressed layers, made once and remembered under the store. */
export class CompressedBlobs {
  /** Layers compressed by this instance (a remembered one does not count): tests check reuse with it. */
  compressedCount = 0;
  /** Layers whose remembered compressed blob was reused. */
  reusedCount = 0;
  private readonly inflight = new Map<string, Promise<Remembered>>();

  /**
   * @param store where uncompressed layers are read and compressed blobs written
   * @param dir the mapping directory (compressedBlobsDir(root))
   * @param tmpDir temp files on the same file system as `dir`
   * @param compressor the stream compressor (default: zlib gzip)
   */
  constructor(
    private readonly store: CompressStore,
    private readonly dir: string,
    private readonly tmpDir: string,
    private readonly compressor: StreamCompressor = zlibCompressor,
  ) {}

  /**
   * The layer as `choice` wants it: a compressed descriptor for an uncompressed layer (from the
   * mapping when its blob is still stored, else compressed now, once even when asked concurrently);
   * any other layer (already compressed, foreign) unchanged.
   */
  layer(desc: Descriptor, choice: CompressionChoice, signal?: AbortSignal): Promise<Descriptor> {
    const mediaType = COMPRESSED_TYPE[desc.mediaType]?.[choice.format];
    if (!isUncompressedLayer(desc.mediaType)) return Promise.resolve(desc);
    if (!mediaType) {
      return Promise.reject(new StoreError('UNSUPPORTED_COMPRESSION', `a ${desc.mediaType} layer cannot be ${choice.format}-compressed in a Docker manifest; build with --format oci`));
    }
    const level = choice.level ?? DEFAULT_LEVEL[choice.format];
    const key = `${desc.digest.slice(desc.digest.indexOf(':') + 1)}.${choice.format}-${level}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.resolve(desc, key, choice.format, level, signal);
      this.inflight.set(key, p);
      p.catch(() => this.inflight.delete(key));
    }
    // The blob is shared by every media type of the tar (OCI or Docker): the mapping key is the diff ID.
    return p.then(({ digest, size }) => {
      const { urls, annotations } = desc;
      return { mediaType, digest, size, ...(urls ? { urls } : {}), ...(annotations ? { annotations } : {}) };
    });
  }

  /**
   * The remembered compressed blobs of these uncompressed layers (by diff ID), whether or not they
   * are still stored: prune keeps them with the images that have the layers.
   */
  async rememberedFor(diffIds: Iterable<string>): Promise<Digest[]> {
    const wanted = new Set([...diffIds].map((d) => d.slice(d.indexOf(':') + 1)));
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return []; // nothing compressed yet
    }
    const out: Digest[] = [];
    for (const n of names) {
      if (!wanted.has(n.slice(0, n.indexOf('.')))) continue;
      try {
        const r = JSON.parse(await readFile(join(this.dir, n), 'utf8')) as Remembered;
        if (isDigest(r.digest)) out.push(r.digest);
      } catch {
        // torn or vanished: nothing to keep
      }
    }
    return out;
  }

  /** The remembered compressed blob for a mapping key, when it is still in the store. */
  async remembered(key: string): Promise<Remembered | undefined> {
    let r: Remembered;
    try {
      r = JSON.parse(await readFile(join(this.dir, key), 'utf8')) as Remembered;
    } catch {
      return undefined; // absent or torn: recompute
    }
    if (!isDigest(r.digest) || typeof r.size !== 'number') return undefined;
    const st = await this.store.stat(r.digest);
    return st?.size === r.size ? r : undefined;
  }

  private async resolve(desc: Descriptor, key: string, format: ExportCompression, level: number, signal?: AbortSignal): Promise<Remembered> {
    const known = await this.remembered(key);
    if (known) {
      this.reusedCount++;
      return known;
    }
    // read (verified: a corrupt local layer must not leave as a valid-looking blob) -> compress -> store (hashed on the way).
    const src = this.store.readVerified ? await this.store.readVerified(desc.digest, signal) : await this.store.read(desc.digest, signal);
    const stored = await this.store.write(this.compressor(src, { compression: format, level }, signal) as AsyncIterable<Uint8Array>, undefined, signal);
    this.compressedCount++;
    await this.remember(key, stored);
    return stored;
  }

  private async remember(key: string, r: Remembered): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    const tmp = join(this.tmpDir, `blob-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      // Named like the store's own temp files, so that prune removes one a crash left.
      await writeFile(tmp, JSON.stringify({ digest: r.digest, size: r.size }));
      await rename(tmp, join(this.dir, key)); // atomic: a concurrent reader sees the old mapping or the new one
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }
}

/** The mapping directory of a store root. */
export function compressedBlobsDir(root: string): string {
  return join(root, 'cache', 'compressed-blobs');
}
