/**
 * Pull: resolve a reference to one image manifest (choosing a platform from
 * an index), download what the store lacks in parallel, each blob verified
 * while streaming, and name the image in the store. Manifest last, so a
 * name never points at an image with missing blobs. An index is stored too
 * (as docker and containerd do) with only the chosen platform's content below
 * it: the name points at the index, its digest is the one the registry shows.
 */
import pLimit from 'p-limit';
import type { Readable } from 'node:stream';
import type { ContentStore, ImageIndex } from '../content-store.js';
import type { Descriptor, ImageConfig, Manifest, Platform } from '../oci/types.js';
import { formatReference, parseReference, withTarget, type Reference } from '../reference.js';
import { createRegistryClient, type BlobProgress, type RegistryClient, type Repo } from './client.js';
import { RegistryError, shortDigest } from './errors.js';
import { OciValidationError, parseManifestOrIndex as parseManifest, validateImageConfig } from '../oci/validate.js';
import { formatPlatform, hostPlatform, selectManifest } from '../oci/platform.js';
import { bySizeDescending } from './schedule.js';
import { teeStream } from './tee-stream.js';

/** Progress of a pull, for the CLI to display. */
export type PullEvent =
  | { type: 'resolved'; name: string; digest: string; platform?: string }
  | { type: 'blob-exists'; digest: string; size: number }
  | ({ type: 'blob-progress' } & BlobProgress)
  | { type: 'blob-done'; digest: string; size: number }
  | { type: 'tagged'; name: string; digest: string };

/**
 * A second reader of a layer while it downloads (a build extracts it as it streams).
 * Called when a layer download starts (the image config is stored by then); returns the reader, or
 * undefined to leave the layer to the store alone.
 * The reader gets a stream that fails (never ends cleanly) when the bytes do not match the layer's
 * digest, so it must not make its result visible before the stream has ended. It may leave the stream unread.
 */
export type LayerTap = (layer: Descriptor, index: number, config: ImageConfig) => Promise<LayerReader | undefined>;

/** What a LayerTap returns: the reader of one layer's bytes. */
export type LayerReader = (body: Readable, signal?: AbortSignal) => Promise<unknown>;

/** Options for pullImage. */
export interface PullOptions {
  /** Platform to choose from an index (default: the host's). */
  platform?: Platform;
  signal?: AbortSignal;
  onProgress?: (e: PullEvent) => void;
  /** The client to use (default: a fresh anonymous one, closed afterwards). */
  client?: RegistryClient;
  /** Parallel blob downloads (default 4). */
  jobs?: number;
  /** Name to store the image under (default: the normalised reference). */
  name?: string;
  /** Layers also handed, as they download, to another consumer (see LayerTap); the pull waits for it. */
  tapLayer?: LayerTap;
}

/** What pullImage returns. */
export interface PullResult {
  /** Name the image is stored under. */
  name: string;
  /** The chosen platform's image manifest (the image a build uses). */
  descriptor: Descriptor;
  /** What the name points at: the index when the reference named one, else the manifest. */
  tagged: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
}

/** The store pull writes into. */
export type PullStore = ContentStore & Pick<ImageIndex, 'tag'>;

/** Pulls an image into the store and names it. */
export async function pullImage(reference: string | Reference, store: PullStore, opts: PullOptions = {}): Promise<PullResult> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const client = opts.client ?? createRegistryClient();
  try {
    return await pullWith(client, ref, store, opts);
  } finally {
    if (!opts.client) await client.close();
  }
}

async function pullWith(client: RegistryClient, ref: Reference, store: PullStore, opts: PullOptions): Promise<PullResult> {
  const signal = opts.signal;
  const action = `pulling ${formatReference(ref)}`;
  const invalid = (repo: Repo, err: unknown): never => {
    throw new RegistryError({
      code: 'MANIFEST_INVALID', action, registry: repo.registry, repository: repo.repository,
      detail: (err as Error).message, hint: 'the registry served a manifest rbuild cannot use', cause: err,
    });
  };
  let fetched = await client.getManifest(ref, { ...(signal && { signal }) });
  let parsed = (() => {
    try {
      return parseManifest(fetched.bytes, fetched.mediaType);
    } catch (err) {
      return invalid(fetched.source, err);
    }
  })();
  let platform: Descriptor['platform'];
  let index: { bytes: Buffer; mediaType: string } | undefined;
  if (parsed.kind === 'index') {
    index = { bytes: fetched.bytes, mediaType: parsed.index.mediaType ?? fetched.mediaType };
    const want = opts.platform ?? hostPlatform();
    const chosen = selectManifest(parsed.index.manifests, want);
    if (!chosen) {
      const offered = parsed.index.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!));
      throw new RegistryError({
        code: 'PLATFORM_NOT_FOUND', action, registry: fetched.source.registry, repository: ref.repository,
        detail: `no image for ${formatPlatform(want)} (offered: ${offered.join(', ') || 'none'})`,
        hint: 'choose one of the offered platforms with --platform',
      });
    }
    platform = chosen.platform;
    const source = fetched.source;
    fetched = await client.getManifest(withTarget({ ...ref, registry: source.registry }, { digest: chosen.digest }), {
      ...(signal && { signal }),
    });
    parsed = (() => {
      try {
        return parseManifest(fetched.bytes, chosen.mediaType);
      } catch (err) {
        return invalid(fetched.source, err);
      }
    })();
    if (parsed.kind !== 'manifest') invalid(source, new OciValidationError('MANIFEST_INVALID', '$', 'an index entry points at another index'));
  }
  if (parsed.kind !== 'manifest') throw new Error('unreachable');
  const manifest = parsed.manifest;
  const source = fetched.source;
  opts.onProgress?.({
    type: 'resolved', name: formatReference(ref), digest: fetched.digest,
    ...(platform && { platform: formatPlatform(platform) }),
  });

  // Download config and layers the store lacks, in parallel; the same digest only once.
  const limit = pLimit(opts.jobs ?? 4);
  let config: ImageConfig | undefined;
  // The first failure stops the other downloads, and the pull returns only once they have cleaned up.
  const stopAll = new AbortController();
  const blobSignal = signal ? AbortSignal.any([signal, stopAll.signal]) : stopAll.signal;
  const fetchBlob = async (desc: Descriptor): Promise<void> => {
    const have = await store.stat(desc.digest);
    if (have && have.size === desc.size) {
      opts.onProgress?.({ type: 'blob-exists', digest: desc.digest, size: desc.size });
      return;
    }
    const index = config ? manifest.layers.findIndex((l) => l.digest === desc.digest) : -1;
    const tap = index >= 0 ? await opts.tapLayer?.(desc, index, config!) : undefined;
    const stream = client.openBlob(source, desc, {
      // verify digest: the store hashes while writing and refuses a mismatch (its contract), but a
      // tapped layer's other reader sees the bytes before the store's verdict: then the stream itself
      // verifies, failing before its end. openBlob checks the size.
      verify: tap !== undefined,
      signal: blobSignal,
      ...(opts.onProgress && { onProgress: (p: BlobProgress) => opts.onProgress!({ type: 'blob-progress', ...p }) }),
    });
    // A mismatch is the registry's fault, so it is labelled so.
    try {
      if (tap) await writeTapped(stream, store, desc, tap, blobSignal);
      else await store.write(stream, { digest: desc.digest, size: desc.size }, blobSignal);
    } catch (err) {
      if ((err as { code?: string }).code !== 'DIGEST_MISMATCH' || err instanceof RegistryError) throw err;
      throw new RegistryError({
        code: 'DIGEST_MISMATCH', action: `pulling ${shortDigest(desc.digest)}`, registry: source.registry,
        repository: source.repository, digest: desc.digest, detail: `blob content does not match its digest`,
        hint: `${source.registry} (or something between it and you) served content that does not match its digest`,
        cause: err,
      });
    }
    opts.onProgress?.({ type: 'blob-done', digest: desc.digest, size: desc.size });
  };
  const readConfig = async (): Promise<ImageConfig> => {
    try {
      return validateImageConfig(JSON.parse((await store.readBytes(manifest.config.digest, signal)).toString('utf8')));
    } catch (err) {
      return invalid(source, err);
    }
  };
  // A tap needs the layers' diff IDs: the (small) config comes first then.
  if (opts.tapLayer) {
    await fetchBlob(manifest.config);
    config = await readConfig();
  }
  const seen = new Set<string>(config ? [manifest.config.digest] : []);
  // Largest first, as push does: a big layer queued last would download alone at the end.
  const blobs = bySizeDescending([manifest.config, ...manifest.layers].filter((d) => !seen.has(d.digest) && seen.add(d.digest)));
  let failed: { err: unknown } | undefined;
  await Promise.allSettled(blobs.map((desc) => limit(async () => {
    if (failed) return;
    try {
      await fetchBlob(desc);
    } catch (err) {
      failed ??= { err };
      stopAll.abort(err);
    }
  })));
  if (failed) throw failed.err;
  config ??= await readConfig();
  const mediaType = manifest.mediaType ?? fetched.mediaType;
  const stored = await store.writeBytes(fetched.bytes, mediaType, signal);
  const descriptor: Descriptor = {
    mediaType,
    digest: stored.digest,
    size: stored.size,
    ...((platform ?? (config.os && config.architecture)) && {
      platform: platform ?? {
        os: config.os, architecture: config.architecture, ...(config.variant && { variant: config.variant }),
      },
    }),
  };
  // The index after its child, so the store never holds an index whose chosen child is missing.
  const tagged = index ? await store.writeBytes(index.bytes, index.mediaType, signal) : descriptor;
  const name = opts.name ?? formatReference(ref);
  await store.tag(name, tagged);
  opts.onProgress?.({ type: 'tagged', name, digest: tagged.digest });
  return { name, descriptor, tagged, manifest, config };
}

/**
 * Writes a blob into the store while `tap` reads the same bytes. Both must succeed; a failure of
 * either stops the download, so the other fails too (the store keeps no partial blob), and the
 * failure reported is the one that came first.
 */
async function writeTapped(stream: Readable, store: PullStore, desc: Descriptor, tap: LayerReader, signal?: AbortSignal): Promise<void> {
  const [toStore, toTap] = teeStream(stream);
  let first: { err: unknown } | undefined;
  const stop = (err: unknown): never => {
    first ??= { err };
    // Without an error: an error thrown into openBlob's generator would look like a dropped connection.
    stream.destroy();
    throw err;
  };
  // A store that stopped reading would otherwise hold the source (and so the tap) paused for ever.
  const written = store.write(toStore, { digest: desc.digest, size: desc.size }, signal).catch(stop);
  // A tap that did not need the bytes (it had them already) must not hold the store's writing up.
  const tapped = tap(toTap, signal).then(() => void toTap.resume(), stop);
  await Promise.allSettled([written, tapped]);
  if (first) throw first.err;
}
