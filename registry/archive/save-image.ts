/**
 * `rbuild save`: images from the store as a tar stream, either an OCI archive
 * (an OCI image layout in a tar, what `skopeo copy oci-archive:` and
 * `docker load` >= 25 read) or a docker-archive (manifest.json, `<config>.json`,
 * uncompressed `<diffid>.tar` layers, what `docker load`, `podman load` and
 * `skopeo copy docker-archive:` read).
 */
import { createHash } from 'node:crypto';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ContentStore } from '../content-store.js';
import { AnnotationRefName, MediaType } from '../oci/types.js';
import type { Descriptor, Digest, Platform } from '../oci/types.js';
import { canonicalJson, digestHex, isIndexMediaType, isManifestMediaType, parseManifestOrIndex } from '../oci/validate.js';
import { resolveImage, type ImageStore, type ResolvedImage } from '../store/images.js';
import { outgoingStore } from '../store/compress-image.js';
import { ArchiveError } from './archive-error.js';
import { tarDir, tarEnd, tarFile, tarHeader, tarPadding } from './tar-stream.js';

/** Archive formats rbuild writes and reads. */
export type ArchiveFormat = 'oci' | 'docker';

/** Options for saveImage. */
export interface SaveOptions {
  /** Platform to pick from multi-platform images (default: the host's). */
  platform?: Platform;
  signal?: AbortSignal;
  /**
   * OCI archives only: the descriptor to write for an image (compress-image.ts: uncompressed
   * layers compressed, as containers/image's oci: destination and BuildKit's oci exporter do).
   * A docker-archive holds plain tars whatever the store has.
   */
  publish?: (image: Descriptor, store: ContentStore, signal?: AbortSignal) => Promise<Descriptor>;
}

/** The annotation containerd and Docker >= 25 use for the full image name in OCI archives. */
export const AnnotationContainerdName = 'io.containerd.image.name';

const uncompressedLayerTypes = new Set<string>([MediaType.ociLayer, MediaType.dockerLayer]);
const gzipLayerTypes = new Set<string>([MediaType.ociLayerGzip, MediaType.dockerLayerGzip, MediaType.dockerForeignLayerGzip, 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip']);

/** Writes the named images (names, `name@digest` or IDs) to `out` as one tar; `out` is ended at the end. */
export async function saveImage(store: ImageStore, names: string[], out: Writable, format: ArchiveFormat, opts: SaveOptions = {}): Promise<void> {
  if (names.length === 0) throw new ArchiveError('INVALID_ARCHIVE', 'no images to save');
  const images: ResolvedImage[] = [];
  for (const n of names) images.push(await resolveImage(store, n, opts));
  // Rewritten manifests (publish) stay in memory: saving leaves nothing in the store but compressed layers.
  const gen = format === 'oci' ? ociArchive(opts.publish ? outgoingStore(store) : store, images, opts) : dockerArchive(store, images, opts);
  await pipeline(Readable.from(gen, { objectMode: false }), out, { signal: opts.signal });
}

// Every blob a descriptor reaches, if all are present (undefined when one is missing).
async function graph(store: ContentStore, root: Descriptor, signal?: AbortSignal): Promise<Descriptor[] | undefined> {
  const out: Descriptor[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const d = queue.shift()!;
    if (!(await store.stat(d.digest))) return undefined;
    out.push(d);
    if (!isIndexMediaType(d.mediaType) && !isManifestMediaType(d.mediaType)) continue;
    const doc = parseManifestOrIndex(await store.readBytes(d.digest, signal), d.mediaType);
    if (doc.kind === 'index') queue.push(...doc.index.manifests);
    else queue.push(doc.manifest.config, ...doc.manifest.layers);
  }
  return out;
}

async function* blobEntry(store: ContentStore & { readVerified?(d: Digest, s?: AbortSignal): Promise<Readable> }, d: Descriptor, path: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
  yield tarHeader(path, d.size);
  // Verify on the way out: a corrupt store must not produce an archive that looks fine.
  const src = store.readVerified ? await store.readVerified(d.digest, signal) : await store.read(d.digest, signal);
  let n = 0;
  for await (const chunk of src) {
    n += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  if (n !== d.size) throw new ArchiveError('DIGEST_MISMATCH', `blob ${d.digest}: stored size ${n} differs from descriptor size ${d.size}`);
  yield tarPadding(d.size);
}

async function* ociArchive(store: ContentStore & { readVerified?(d: Digest, s?: AbortSignal): Promise<Readable> }, images: ResolvedImage[], opts: SaveOptions): AsyncGenerator<Buffer> {
  const blobs = new Map<string, Descriptor>();
  const entries: Descriptor[] = [];
  for (const img of images) {
    // The whole multi-platform graph when we have it all; otherwise the one platform we have.
    const publish = async (d: Descriptor): Promise<Descriptor> => (opts.publish ? { ...d, ...(await opts.publish(d, store, opts.signal)) } : d);
    let top = await publish(img.descriptor);
    let g = await graph(store, top, opts.signal);
    if (!g) {
      top = await publish(img.manifestDescriptor);
      g = await graph(store, top, opts.signal);
      if (!g) throw new ArchiveError('MISSING_BLOB', `image ${img.name ?? top.digest} is incomplete in the store`);
    }
    for (const d of g) if (!blobs.has(d.digest)) blobs.set(d.digest, d);
    const { annotations: _a, ...plain } = top;
    const annotations: Record<string, string> = {};
    if (img.name) {
      annotations[AnnotationRefName] = img.name;
      annotations[AnnotationContainerdName] = img.name;
    }
    entries.push(Object.keys(annotations).length ? { ...plain, annotations } : plain);
  }
  yield* tarFile('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  yield* tarFile('index.json', canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries }));
  yield tarDir('blobs');
  const algs = new Set([...blobs.keys()].map((d) => d.slice(0, d.indexOf(':'))));
  for (const alg of algs) yield tarDir(`blobs/${alg}`);
  for (const d of blobs.values()) yield* blobEntry(store, d, `blobs/${d.digest.replace(':', '/')}`, opts.signal);
  yield tarEnd();
}

// Size and digest of a gzip layer's uncompressed content (first of two passes:
// a tar header needs the size before the bytes, and we keep no temp copy).
async function gunzippedInfo(store: ContentStore, d: Descriptor, signal?: AbortSignal): Promise<{ size: number; digest: Digest }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    await store.read(d.digest, signal),
    createGunzip(),
    new Transform({
      transform(chunk: Buffer, _e, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb();
      },
    }),
    { signal },
  );
  return { size, digest: `sha256:${hash.digest('hex')}` };
}

async function* dockerArchive(store: ImageStore, images: ResolvedImage[], opts: SaveOptions): AsyncGenerator<Buffer> {
  // One manifest.json entry per image ID; several names of one image share it.
  const byConfig = new Map<string, { img: ResolvedImage; tags: string[] }>();
  for (const img of images) {
    const e = byConfig.get(img.configDescriptor.digest) ?? { img, tags: [] };
    if (img.name && !e.tags.includes(img.name)) e.tags.push(img.name);
    byConfig.set(img.configDescriptor.digest, e);
  }
  const written = new Set<string>();
  const manifestJson: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  for (const { img, tags } of byConfig.values()) {
    const diffIds = img.config.rootfs.diff_ids;
    if (diffIds.length !== img.manifest.layers.length) {
      throw new ArchiveError('INVALID_ARCHIVE', `image ${img.name ?? img.configDescriptor.digest}: ${img.manifest.layers.length} layers but ${diffIds.length} diff_ids`);
    }
    const layerPaths: string[] = [];
    for (const [i, layer] of img.manifest.layers.entries()) {
      const diffId = diffIds[i]!;
      const path = `${digestHex(diffId)}.tar`;
      layerPaths.push(path);
      if (written.has(path)) continue;
      written.add(path);
      if (uncompressedLayerTypes.has(layer.mediaType)) {
        if (layer.digest !== diffId) throw new ArchiveError('DIGEST_MISMATCH', `layer ${layer.digest} does not match diff_id ${diffId}`);
        yield* blobEntry(store, layer, path, opts.signal);
      } else if (gzipLayerTypes.has(layer.mediaType)) {
        // docker save writes uncompressed layers; tools expect them so.
        const info = await gunzippedInfo(store, layer, opts.signal);
        if (info.digest !== diffId) throw new ArchiveError('DIGEST_MISMATCH', `layer ${layer.digest} uncompresses to ${info.digest}, config says ${diffId}`);
        yield tarHeader(path, info.size);
        let n = 0;
        const gunzip = (await store.read(layer.digest, opts.signal)).pipe(createGunzip());
        for await (const chunk of gunzip) {
          n += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (n !== info.size) throw new ArchiveError('DIGEST_MISMATCH', `layer ${layer.digest} changed while saving`);
        yield tarPadding(info.size);
      } else {
        throw new ArchiveError('UNSUPPORTED_LAYER', `cannot write layer ${layer.digest} of type ${layer.mediaType} to a docker-archive`);
      }
    }
    const configPath = `${digestHex(img.configDescriptor.digest)}.json`;
    if (!written.has(configPath)) {
      written.add(configPath);
      yield* tarFile(configPath, await store.readBytes(img.configDescriptor.digest, opts.signal));
    }
    manifestJson.push({ Config: configPath, RepoTags: tags, Layers: layerPaths });
  }
  yield* tarFile('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
  yield tarEnd();
}

