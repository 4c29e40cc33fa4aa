/**
 * Remote build cache (`--cache-to/--cache-from type=registry,ref=...`): the
 * records a build used, stored in a registry as one plain OCI image manifest
 * (not an index: ECR and others refuse those, buildkit#699). Its config blob
 * is `{"rbuild.cache.v1": {key: record}}`, its layers the layer blobs the
 * records name that the build made (base images' layers come with the base). Pure parts (parsing, documents) are here; the network goes
 * through the small RemoteCacheIo the CLI supplies.
 */
import type { Readable } from 'node:stream';
import type { Descriptor, Digest, Manifest } from '../../registry/oci/types.js';
import type { CacheRecord } from './cache.js';
import { BuildError } from './errors.js';

/** Media type of the cache document (the manifest's config). */
export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.rbuild.cache.config.v1+json';
/** The artifactType the cache manifest declares. */
export const CACHE_ARTIFACT_TYPE = 'application/vnd.rbuild.cache.v1';
const DOC_KEY = 'rbuild.cache.v1';

/** A parsed `--cache-to` / `--cache-from` value. */
export interface CacheSpec {
  type: 'registry';
  ref: string;
  /** What --cache-to exports (BuildKit's names): min (default) the result's chain, max every stage's steps. */
  mode?: 'min' | 'max';
}

/** Parses `type=registry,ref=REF` (a bare REF means a registry ref, as buildx allows for --cache-from). */
export function parseCacheSpec(value: string): CacheSpec {
  if (!value.includes('=')) return { type: 'registry', ref: value };
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) throw new BuildError('BAD_CACHE_SPEC', `cache option ${JSON.stringify(part)} is not key=value`, 'write type=registry,ref=REGISTRY/REPO:TAG');
    fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const type = fields.get('type') ?? 'registry';
  if (type !== 'registry') throw new BuildError('BAD_CACHE_SPEC', `cache type ${JSON.stringify(type)} is not supported`, 'use type=registry,ref=REGISTRY/REPO:TAG');
  const ref = fields.get('ref');
  if (!ref) throw new BuildError('BAD_CACHE_SPEC', `cache option ${JSON.stringify(value)} has no ref=`, 'write type=registry,ref=REGISTRY/REPO:TAG');
  const mode = fields.get('mode');
  if (mode !== undefined && mode !== 'min' && mode !== 'max') throw new BuildError('BAD_CACHE_SPEC', `cache mode ${JSON.stringify(mode)} is not min or max`, 'write mode=min (the default) or mode=max');
  return { type: 'registry', ref, ...(mode ? { mode } : {}) };
}

/**
 * The records --cache-to exports. mode=max: every record the build used. mode=min (BuildKit's
 * default): those on the way to the result, i.e. whose layers are a prefix of the result's; other
 * stages' steps are left out (a cold build re-runs them and hits again from the result's steps).
 */
export function selectRecords(records: ReadonlyMap<string, CacheRecord>, mode: 'min' | 'max', result: readonly { digest: string }[]): Map<string, CacheRecord> {
  if (mode === 'max') return new Map(records);
  const out = new Map<string, CacheRecord>();
  for (const [k, r] of records) if (r.layers.length <= result.length && r.layers.every((l, i) => l.digest === result[i]!.digest)) out.set(k, r);
  return out;
}

/**
 * The cache document and the layers that carry it: every layer the records name but those of base
 * images (`baseLayers`), which a build using the cache pulls with its base image anyway.
 */
export function cacheDocument(records: ReadonlyMap<string, CacheRecord>, baseLayers: ReadonlySet<string> = new Set()): { config: Buffer; layers: Descriptor[] } {
  const sorted = [...records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const layers = new Map<string, Descriptor>();
  for (const [, r] of sorted) {
    for (const l of r.layers) if (!layers.has(l.digest) && !baseLayers.has(l.digest)) layers.set(l.digest, { mediaType: l.mediaType, digest: l.digest, size: l.size });
  }
  return { config: Buffer.from(JSON.stringify({ [DOC_KEY]: Object.fromEntries(sorted) })), layers: [...layers.values()] };
}

/** The manifest for a stored cache document. */
export function cacheManifest(config: Descriptor, layers: Descriptor[]): Manifest {
  return { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: CACHE_ARTIFACT_TYPE, config, layers };
}

/** The records of a cache document (foreign or broken entries are left out: a miss, never an error). */
export function parseCacheDocument(bytes: Buffer): Map<string, CacheRecord> {
  const out = new Map<string, CacheRecord>();
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return out;
  }
  const recs = (doc as Record<string, unknown> | null)?.[DOC_KEY];
  if (!recs || typeof recs !== 'object') return out;
  for (const [k, v] of Object.entries(recs as Record<string, unknown>)) {
    const r = v as Partial<CacheRecord> | null;
    if (!r || typeof r.config !== 'object' || !Array.isArray(r.layers)) continue;
    if (!r.layers.every((l) => typeof l?.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(l.digest) && typeof l.size === 'number')) continue;
    out.set(k, r as CacheRecord);
  }
  return out;
}

/** The network side of a remote cache, as the CLI provides it. */
export interface RemoteCacheIo {
  /** The cache manifest at `ref`, or undefined when there is none. */
  fetchManifest(ref: string, signal?: AbortSignal): Promise<Manifest | undefined>;
  /** A blob from the repository of `ref`. */
  openBlob(ref: string, desc: { digest: Digest; size: number }, signal?: AbortSignal): Promise<Readable>;
  /** Pushes the manifest stored locally under `descriptor` (with its blobs) to `ref`. */
  push(descriptor: Descriptor, ref: string, signal?: AbortSignal): Promise<void>;
  /** A layer as it is published (uncompressed ones compressed); the identity when absent. */
  publishLayer?(layer: Descriptor, signal?: AbortSignal): Promise<Descriptor>;
}

/** Where imported records and their blobs come from. */
interface Source {
  ref: string;
  records: Map<string, CacheRecord>;
}

/** The local store as the remote cache needs it. */
export interface CacheStore {
  stat(digest: Digest): Promise<{ size: number } | undefined>;
  write(data: Readable, expected?: { digest?: Digest; size?: number }, signal?: AbortSignal): Promise<{ digest: Digest; size: number }>;
  readBytes(digest: Digest, signal?: AbortSignal): Promise<Buffer>;
  writeBytes(bytes: Uint8Array, mediaType: string, signal?: AbortSignal): Promise<Descriptor>;
}

/** Records imported from `--cache-from` refs; a hit downloads the blobs it lacks locally. */
export class ImportedCache {
  private constructor(
    private readonly sources: Source[],
    private readonly store: CacheStore,
    private readonly io: RemoteCacheIo,
    private readonly signal?: AbortSignal,
  ) {}

  /** Imports every ref (one that does not exist yet is empty: the first CI run has no cache). */
  static async load(refs: readonly string[], store: CacheStore, io: RemoteCacheIo, signal?: AbortSignal): Promise<ImportedCache> {
    const sources: Source[] = [];
    for (const ref of refs) {
      const m = await io.fetchManifest(ref, signal);
      if (!m) continue;
      const chunks: Buffer[] = [];
      for await (const c of await io.openBlob(ref, m.config as { digest: Digest; size: number }, signal)) chunks.push(c as Buffer);
      sources.push({ ref, records: parseCacheDocument(Buffer.concat(chunks)) });
    }
    return new ImportedCache(sources, store, io, signal);
  }

  /** How many records were imported. */
  get size(): number {
    return this.sources.reduce((a, s) => a + s.records.size, 0);
  }

  /** The record for a key with every layer blob now in the local store, or undefined. */
  async get(key: string): Promise<CacheRecord | undefined> {
    for (const s of this.sources) {
      const rec = s.records.get(key);
      if (!rec) continue;
      // Fetched at hit time: the executor reads layer blobs from the store when a later step misses.
      for (const l of rec.layers) {
        if (await this.store.stat(l.digest)) continue;
        await this.store.write(await this.io.openBlob(s.ref, l, this.signal), { digest: l.digest, size: l.size }, this.signal);
      }
      return rec;
    }
    return undefined;
  }
}

/** What to export: the mode, the result's layers (mode=min) and the base images' layers (never exported). */
export interface ExportOptions {
  mode?: 'min' | 'max';
  result?: readonly { digest: string }[];
  baseLayers?: ReadonlySet<string>;
}

/**
 * The records with the layers the build made as they are published (compressed: the local store
 * keeps them uncompressed), so that an importer fetches blobs the cache manifest carries. Base
 * images' layers keep their digests (they are not exported; the importer has its own base).
 */
export async function publishRecords(
  records: ReadonlyMap<string, CacheRecord>,
  publish: (layer: Descriptor, signal?: AbortSignal) => Promise<Descriptor>,
  baseLayers: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<Map<string, CacheRecord>> {
  const out = new Map<string, CacheRecord>();
  for (const [k, r] of records) {
    const layers = [];
    for (const l of r.layers) {
      if (baseLayers.has(l.digest)) {
        layers.push(l);
        continue;
      }
      const p = await publish({ mediaType: l.mediaType, digest: l.digest, size: l.size }, signal);
      layers.push({ ...l, mediaType: p.mediaType, digest: p.digest as `sha256:${string}`, size: p.size });
    }
    out.set(k, { ...r, layers });
  }
  return out;
}

/** Pushes the records (and the layers the build made, from the local store) to `ref` as one cache manifest. */
export async function exportCache(records: ReadonlyMap<string, CacheRecord>, ref: string, store: CacheStore, io: RemoteCacheIo, signal?: AbortSignal, opts: ExportOptions = {}): Promise<Descriptor> {
  let selected = opts.result ? selectRecords(records, opts.mode ?? 'min', opts.result) : records;
  if (io.publishLayer) selected = await publishRecords(selected, io.publishLayer.bind(io), opts.baseLayers ?? new Set(), signal);
  const doc = cacheDocument(selected, opts.baseLayers);
  const config = await store.writeBytes(doc.config, CACHE_CONFIG_MEDIA_TYPE, signal);
  const manifest = cacheManifest(config, doc.layers);
  const desc = await store.writeBytes(Buffer.from(JSON.stringify(manifest)), 'application/vnd.oci.image.manifest.v1+json', signal);
  await io.push(desc, ref, signal);
  return desc;
}
