/**
 * Image-level operations over the store: resolve a name to manifest and
 * config (following an index to one platform), list, remove, prune.
 */
import type { ContentStore, ImageIndex } from '../content-store.js';
import { AnnotationRefName, MediaType } from '../oci/types.js';
import type { Descriptor, Digest, ImageConfig, Index, Manifest, Platform } from '../oci/types.js';
import { isIndexMediaType, isManifestMediaType, parseManifestOrIndex, validateImageConfig, parseJson, MAX_MANIFEST_BYTES } from '../oci/validate.js';
import type { BlobEntry } from './oci-layout-store.js';
import { normalizeName } from './normalize-name.js';
import { formatPlatform, hostPlatform, selectManifest } from '../oci/platform.js';
import { StoreError } from './store-error.js';

/** What image operations need from a store (OciLayoutStore has it all). */
export type ImageStore = ContentStore & ImageIndex & { entries(): Promise<Descriptor[]> };

/** A store whose index.json entries can be rewritten as a whole (for removal by ID). */
export type MutableImageStore = ImageStore & {
  updateIndex(fn: (manifests: Descriptor[]) => Descriptor[], signal?: AbortSignal): Promise<void>;
};

/** A store that prune can sweep. */
export type PrunableStore = ImageStore & {
  listBlobs(): Promise<BlobEntry[]>;
  deleteBlob(digest: Digest): Promise<boolean>;
  removeStaleTemp?(beforeMs: number): Promise<number>;
  liveWritersSince?(): Promise<number | undefined>;
};

/** An image resolved down to one platform's manifest and config. */
export interface ResolvedImage {
  /** The normalised name it was found under (undefined when found by digest/ID only). */
  name?: string;
  /** The index.json entry (may point at an index). */
  descriptor: Descriptor;
  /** The image index, when `descriptor` points at one. */
  index?: Index;
  /** The platform manifest's descriptor. */
  manifestDescriptor: Descriptor;
  manifest: Manifest;
  /** The config's digest is the image ID, as Docker and podman show it. */
  configDescriptor: Descriptor;
  config: ImageConfig;
}

/** Options for resolving an image. */
export interface ResolveOptions {
  /** Platform to pick from an index (default: the host's). */
  platform?: Platform;
  signal?: AbortSignal;
}

/** Follows a descriptor (manifest or index, possibly nested) to one platform's manifest and config. */
export async function loadImage(store: ContentStore, descriptor: Descriptor, opts: ResolveOptions = {}): Promise<Omit<ResolvedImage, 'name'>> {
  const platform = opts.platform ?? hostPlatform();
  let desc = descriptor;
  let top: Index | undefined;
  for (let depth = 0; depth < 4; depth++) {
    const bytes = await store.readBytes(desc.digest, opts.signal);
    const doc = parseManifestOrIndex(bytes, isIndexMediaType(desc.mediaType) || isManifestMediaType(desc.mediaType) ? desc.mediaType : undefined);
    if (doc.kind === 'index') {
      top ??= doc.index;
      // A pulled index keeps only the pulled platform's manifest: choose among the stored children,
      // and without an explicit platform fall back to what is stored (the image the user pulled).
      const stored: Descriptor[] = [];
      for (const m of doc.index.manifests) if (await store.stat(m.digest)) stored.push(m);
      const next = selectManifest(stored, platform) ?? (opts.platform ? undefined : stored.find((m) => m.platform?.os !== 'unknown'));
      if (!next) {
        const listed = selectManifest(doc.index.manifests, platform);
        const have = stored.map((m) => (m.platform ? formatPlatform(m.platform) : '?')).join(', ');
        const why = listed ? 'is listed but not stored here (pull it with --platform)' : 'is not in it';
        throw new StoreError('PLATFORM_UNKNOWN', `${descriptor.digest}: the manifest for ${formatPlatform(platform)} ${why} (stored: ${have || 'none'})`);
      }
      desc = next;
      continue;
    }
    const config = validateImageConfig(parseJson(await store.readBytes(doc.manifest.config.digest, opts.signal), Number.MAX_SAFE_INTEGER));
    const out: Omit<ResolvedImage, 'name'> = { descriptor, manifestDescriptor: desc, manifest: doc.manifest, configDescriptor: doc.manifest.config, config };
    if (top) out.index = top;
    return out;
  }
  throw new StoreError('INVALID_IMAGE', `${descriptor.digest}: indexes nested too deeply`);
}

const idPattern = /^(?:sha256:)?([a-f0-9]{12,64})$/;

/**
 * Resolves a user-given reference: a name (`busybox`, normalised), `name@digest`,
 * or an image ID / manifest digest (full or a 12+ hex prefix). `IMAGE_UNKNOWN` when absent.
 */
export async function resolveImage(store: ImageStore, ref: string, opts: ResolveOptions = {}): Promise<ResolvedImage> {
  let normalized: string | undefined;
  try {
    normalized = normalizeName(ref);
  } catch {
    // Not a name; may still be an ID.
  }
  if (normalized !== undefined) {
    const at = normalized.indexOf('@');
    if (at < 0) {
      const d = await store.resolve(normalized);
      if (d) return { name: normalized, ...(await loadImage(store, d, opts)) };
    } else {
      // name@digest: the digest decides; the name only has to match a stored repository if given with a tag.
      const digest = normalized.slice(at + 1) as Digest;
      const entry = (await store.list()).find((e) => e.descriptor.digest === digest);
      const d = entry?.descriptor ?? (await findUnnamed(store, digest));
      if (d) return { ...(entry ? { name: entry.name } : {}), ...(await loadImage(store, d, opts)) };
      if (await store.stat(digest)) {
        return loadImage(store, { mediaType: await sniffMediaType(store, digest, opts.signal), digest, size: (await store.stat(digest))!.size }, opts);
      }
    }
  }
  const m = idPattern.exec(ref);
  if (m) {
    const matches = await findById(store, m[1]!, opts);
    const distinct = new Set(matches.map((x) => x.image.configDescriptor.digest));
    if (distinct.size > 1) throw new StoreError('AMBIGUOUS_ID', `${ref} matches ${distinct.size} images; give more of the ID`);
    if (matches.length > 0) return matches[0]!.image;
  }
  throw new StoreError('IMAGE_UNKNOWN', `image ${ref} not found in the store`);
}

async function findUnnamed(store: ImageStore, digest: Digest): Promise<Descriptor | undefined> {
  return (await store.entries()).find((e) => e.digest === digest);
}

async function sniffMediaType(store: ContentStore, digest: Digest, signal?: AbortSignal): Promise<string> {
  const doc = parseManifestOrIndex(await store.readBytes(digest, signal));
  return doc.kind === 'index' ? (doc.index.mediaType ?? MediaType.ociIndex) : (doc.manifest.mediaType ?? MediaType.ociManifest);
}

async function findById(store: ImageStore, hexPrefix: string, opts: ResolveOptions): Promise<Array<{ image: ResolvedImage }>> {
  const out: Array<{ image: ResolvedImage }> = [];
  for (const entry of await store.entries()) {
    let img: Omit<ResolvedImage, 'name'>;
    try {
      img = await loadImage(store, entry, opts);
    } catch {
      continue;
    }
    const hit = [entry.digest, img.manifestDescriptor.digest, img.configDescriptor.digest].some((d) => d.slice(7).startsWith(hexPrefix));
    if (!hit) continue;
    const name = entry.annotations?.[AnnotationRefName];
    out.push({ image: { ...(name ? { name } : {}), ...img } });
  }
  return out;
}

/** One line of `rbuild images`. */
export interface ImageSummary {
  /** Normalised name, or undefined for an unnamed entry. */
  name?: string;
  /** The index.json entry's digest (manifest or index). */
  digest: Digest;
  /** Image ID: the config digest of the host-platform manifest (undefined when blobs are missing). */
  id?: Digest;
  /** Bytes of manifest, config and layers as stored (compressed layers count compressed). */
  size: number;
  created?: string;
  platform?: string;
}

/** Every image in index.json, newest first. */
export async function listImages(store: ImageStore, opts: ResolveOptions = {}): Promise<ImageSummary[]> {
  const out: ImageSummary[] = [];
  for (const entry of await store.entries()) {
    const name = entry.annotations?.[AnnotationRefName];
    const s: ImageSummary = { digest: entry.digest, size: entry.size };
    if (name !== undefined) s.name = name;
    try {
      const img = await loadImage(store, entry, opts);
      s.id = img.configDescriptor.digest;
      s.size = img.manifestDescriptor.size + img.configDescriptor.size + img.manifest.layers.reduce((a, l) => a + l.size, 0);
      if (img.config.created) s.created = img.config.created;
      s.platform = formatPlatform(img.config);
    } catch (err) {
      // Listing must not fail on one broken or foreign entry; it shows without an ID.
      if (!(err instanceof Error)) throw err;
    }
    out.push(s);
  }
  return out.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
}

/**
 * Removes an image reference: a name removes that name only; an ID or digest
 * removes every index entry of that image. Blobs stay until prune. Returns the
 * removed names (digests for unnamed entries); `IMAGE_UNKNOWN` when nothing matched.
 */
export async function removeImage(store: MutableImageStore, ref: string, signal?: AbortSignal): Promise<string[]> {
  let normalized: string | undefined;
  try {
    normalized = normalizeName(ref);
  } catch {
    // Not a name.
  }
  if (normalized !== undefined && !normalized.includes('@') && (await store.untag(normalized))) return [normalized];
  const img = await resolveImage(store, ref, { signal });
  const removed: string[] = [];
  const doomed = (m: Descriptor) => m.digest === img.descriptor.digest;
  await store.updateIndex((ms) => {
    for (const m of ms.filter(doomed)) removed.push(m.annotations?.[AnnotationRefName] ?? m.digest);
    return ms.filter((m) => !doomed(m));
  }, signal);
  if (removed.length === 0) throw new StoreError('IMAGE_UNKNOWN', `image ${ref} not found in the store`);
  return removed;
}

/** Options for prune. */
export interface PruneOptions {
  /** Blobs to keep besides everything index.json reaches (e.g. the build cache's); manifests among them are followed. */
  extraRoots?: Digest[];
  signal?: AbortSignal;
}

/** What prune removed. */
export interface PruneResult {
  removed: Digest[];
  freedBytes: number;
  kept: number;
}

/**
 * Mark and sweep: keeps every blob reachable from index.json and `extraRoots`,
 * removes the rest, but only blobs last written before the prune started and
 * before any live writer process began writing (its `tmp/writer-<pid>` mark),
 * so a concurrent pull's or build's blobs survive until it tags them (the store
 * also refreshes the mtime of a blob it is asked to write again). Index entries
 * are marked twice (before and after listing blobs) to catch tags made meanwhile.
 */
export async function prune(store: PrunableStore, opts: PruneOptions = {}): Promise<PruneResult> {
  const start = Date.now();
  const marked = new Set<string>();
  const mark = async (roots: Array<{ digest: Digest; mediaType?: string }>) => {
    const queue = [...roots];
    while (queue.length > 0) {
      opts.signal?.throwIfAborted();
      const d = queue.pop()!;
      if (marked.has(d.digest)) continue;
      marked.add(d.digest);
      const known = isIndexMediaType(d.mediaType) || isManifestMediaType(d.mediaType);
      if (d.mediaType !== undefined && !known) continue;
      const st = await store.stat(d.digest);
      if (!st || st.size > MAX_MANIFEST_BYTES) continue;
      let doc;
      try {
        doc = parseManifestOrIndex(await store.readBytes(d.digest, opts.signal), known ? d.mediaType : undefined);
      } catch (err) {
        // An extra root that is a layer or config is not JSON of this kind: keep it, follow nothing.
        if (!known) continue;
        throw err;
      }
      if (doc.kind === 'index') queue.push(...doc.index.manifests, ...(doc.index.subject ? [doc.index.subject] : []));
      else queue.push(doc.manifest.config, ...doc.manifest.layers, ...(doc.manifest.subject ? [doc.manifest.subject] : []));
    }
  };
  const roots = async () => [...(await store.entries()), ...(opts.extraRoots ?? []).map((digest) => ({ digest }))];
  await mark(await roots());
  const blobs = await store.listBlobs();
  await mark(await roots());
  // Blobs of writers still running (a pull or build that has not tagged yet) are spared too.
  const writers = await store.liveWritersSince?.();
  const cutoff = writers === undefined ? start : Math.min(start, writers);
  const result: PruneResult = { removed: [], freedBytes: 0, kept: 0 };
  for (const b of blobs) {
    opts.signal?.throwIfAborted();
    if (marked.has(b.digest) || b.mtimeMs >= cutoff) {
      result.kept++;
      continue;
    }
    if (await store.deleteBlob(b.digest)) {
      result.removed.push(b.digest);
      result.freedBytes += b.size;
    }
  }
  await store.removeStaleTemp?.(start);
  return result;
}
