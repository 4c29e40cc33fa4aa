/**
 * `rbuild load`: reads an OCI archive or a docker-archive (told apart by
 * `oci-layout`/`index.json` vs `manifest.json`; gzip-compressed archives too)
 * into the store. Every blob is written through the store, so digests are
 * computed on the way in; blobs named by digest are verified against their
 * name, docker-archive layers against the config's diff_ids, and every image
 * graph is checked complete before any name is set.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import type { ContentStore } from '../content-store.js';
import { AnnotationRefName, MediaType } from '../oci/types.js';
import type { Descriptor, Digest, Manifest } from '../oci/types.js';
import {
  canonicalJson,
  isDigest,
  isIndexMediaType,
  isManifestMediaType,
  parseJson,
  parseManifestOrIndex,
  validateImageConfig,
  validateIndex,
} from '../oci/validate.js';
import type { MutableImageStore } from '../store/images.js';
import { normalizeName } from '../store/normalize-name.js';
import { ArchiveError } from './archive-error.js';
import { AnnotationContainerdName, type ArchiveFormat } from './save-image.js';

/** A store loadArchive can write into. */
export type LoadStore = MutableImageStore;

/** Options for loadArchive. */
export interface LoadOptions {
  signal?: AbortSignal;
}

/** What loadArchive stored: each image's index.json descriptor and the names it got. */
export interface LoadResult {
  format: ArchiveFormat;
  images: Array<{ names: string[]; descriptor: Descriptor }>;
}

// Metadata files kept in memory (small JSON); everything else is streamed into the store.
const metadataFiles = new Set(['manifest.json', 'index.json', 'oci-layout', 'repositories']);
const MAX_METADATA = 16 * 1024 * 1024;

type Stored = { digest: Digest; size: number };

/** Reads an archive from `input` into `store`; returns the images it held. */
export async function loadArchive(store: LoadStore, input: Readable, opts: LoadOptions = {}): Promise<LoadResult> {
  const { signal } = opts;
  const meta = new Map<string, Buffer>();
  const files = new Map<string, Stored>();
  const links = new Map<string, string>();
  const pending: Promise<void>[] = [];
  let failure: unknown;

  // Bodies of entries being consumed right now; destroyed when we stop early so no task waits forever.
  const active = new Set<PassThrough>();
  const onEntry = (entry: ReadEntry) => {
    const path = posix.normalize(entry.path).replace(/^(\.\/)+|^\/+/, '').replace(/\/$/, '');
    // After a failure the rest of the archive is only drained.
    if (failure !== undefined) {
      entry.resume();
      return;
    }
    if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
      // docker save links duplicate layers to the first copy.
      const target = entry.type === 'Link' ? entry.linkpath! : posix.join(posix.dirname(path), entry.linkpath!);
      links.set(path, posix.normalize(target));
      entry.resume();
      return;
    }
    if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
      entry.resume();
      return;
    }
    // A Node stream in front of the entry: destroying it rejects its reader whether
    // or not reading has begun (a destroyed tar entry would just hang a late reader).
    const body = new PassThrough();
    body.on('error', () => undefined);
    entry.pipe(body);
    active.add(body);
    const task = (async () => {
      if (metadataFiles.has(path)) {
        if ((entry.size ?? 0) > MAX_METADATA) throw new ArchiveError('INVALID_ARCHIVE', `${path} is too large (${entry.size} bytes)`);
        const chunks: Buffer[] = [];
        for await (const c of body) chunks.push(c as Buffer);
        meta.set(path, Buffer.concat(chunks));
        return;
      }
      // Legacy docker-archive per-layer metadata is not needed (config has it all).
      if (/(^|\/)(json|VERSION)$/.test(path)) {
        body.resume();
        return;
      }
      const m = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(path);
      const named = m ? (`${m[1]}:${m[2]}` as Digest) : undefined;
      if (m && !isDigest(named)) throw new ArchiveError('INVALID_ARCHIVE', `${path} is not a valid blob name`);
      // The store hashes while writing and refuses a blob that does not match its name.
      const stored = await store.write(body, { ...(named ? { digest: named } : {}), size: entry.size ?? 0 }, signal);
      files.set(path, stored);
    })()
      .catch((err: unknown) => {
        failure ??= err;
        entry.unpipe(body);
        entry.resume();
      })
      .finally(() => active.delete(body));
    pending.push(task);
  };

  const parser = new Parser({ strict: true, noResume: true, onReadEntry: onEntry });
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('end', () => resolve());
    parser.on('error', reject);
  });
  parsed.catch(() => undefined);
  try {
    for await (const chunk of input) {
      signal?.throwIfAborted();
      if (!parser.write(chunk as Buffer)) await new Promise((r) => parser.once('drain', r));
      // Stop reading once an entry failed and no other entry is still being stored.
      if (failure !== undefined && active.size === 0) break;
    }
    if (failure === undefined) {
      parser.end();
      await parsed;
    }
  } catch (err) {
    failure ??= err;
  }
  if (failure !== undefined) {
    for (const e of active) e.destroy(failure instanceof Error ? failure : new Error(String(failure)));
    if (typeof (input as Readable).destroy === 'function') (input as Readable).destroy();
  }
  await Promise.allSettled(pending);
  if (failure !== undefined) {
    if (failure instanceof Error && 'code' in failure) throw failure;
    throw new ArchiveError('INVALID_ARCHIVE', `reading the archive failed: ${(failure as Error).message}`, { cause: failure });
  }

  const resolvePath = (p: string): Stored | undefined => {
    let cur = posix.normalize(p);
    for (let i = 0; i < 16 && !files.has(cur) && links.has(cur); i++) cur = links.get(cur)!;
    return files.get(cur);
  };

  if (meta.has('index.json') && meta.has('oci-layout')) return loadOci(store, meta.get('index.json')!, signal);
  if (meta.has('manifest.json')) return loadDocker(store, meta.get('manifest.json')!, resolvePath, signal);
  throw new ArchiveError('INVALID_ARCHIVE', 'neither an OCI archive (oci-layout, index.json) nor a docker-archive (manifest.json)');
}

// Every blob of a manifest/index graph must be in the store (and manifests verified).
async function checkComplete(store: ContentStore, root: Descriptor, signal?: AbortSignal): Promise<void> {
  const queue = [root];
  while (queue.length > 0) {
    const d = queue.pop()!;
    const st = await store.stat(d.digest);
    if (!st) throw new ArchiveError('MISSING_BLOB', `the archive lacks blob ${d.digest} (${d.mediaType})`);
    if (st.size !== d.size) throw new ArchiveError('DIGEST_MISMATCH', `blob ${d.digest} is ${st.size} bytes, descriptor says ${d.size}`);
    if (!isIndexMediaType(d.mediaType) && !isManifestMediaType(d.mediaType)) continue;
    const doc = parseManifestOrIndex(await store.readBytes(d.digest, signal), d.mediaType);
    if (doc.kind === 'index') queue.push(...doc.index.manifests);
    else queue.push(doc.manifest.config, ...doc.manifest.layers);
  }
}

function nameOf(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    return normalizeName(raw);
  } catch {
    return undefined;
  }
}

async function record(store: LoadStore, descriptor: Descriptor, names: string[], signal?: AbortSignal): Promise<void> {
  for (const n of names) await store.tag(n, descriptor);
  if (names.length === 0) {
    // Unnamed images stay in index.json (without ref.name) so prune keeps them; `rbuild rmi <id>` removes them.
    await store.updateIndex((ms) => (ms.some((m) => m.digest === descriptor.digest && !m.annotations?.[AnnotationRefName]) ? ms : [...ms, descriptor]), signal);
  }
}

async function loadOci(store: LoadStore, indexBytes: Buffer, signal?: AbortSignal): Promise<LoadResult> {
  const index = validateIndex(parseJson(indexBytes));
  const images: LoadResult['images'] = [];
  for (const entry of index.manifests) await checkComplete(store, entry, signal);
  for (const entry of index.manifests) {
    // containerd/Docker put the full name in their own annotation; skopeo/umoci put a name or tag in ref.name.
    const name = nameOf(entry.annotations?.[AnnotationContainerdName]) ?? nameOf(entry.annotations?.[AnnotationRefName]);
    const { [AnnotationRefName]: _r, [AnnotationContainerdName]: _c, ...rest } = entry.annotations ?? {};
    const descriptor: Descriptor = { ...entry };
    if (Object.keys(rest).length) descriptor.annotations = rest;
    else delete descriptor.annotations;
    const names = name && !name.includes('@') ? [name] : [];
    await record(store, descriptor, names, signal);
    images.push({ names, descriptor });
  }
  return { format: 'oci', images };
}

// The sha256 of a stored layer's gunzipped bytes (for gzip layers in a docker-archive).
async function gunzipDigest(store: ContentStore, digest: Digest, signal?: AbortSignal): Promise<Digest | undefined> {
  const hash = createHash('sha256');
  try {
    await pipeline(
      await store.read(digest, signal),
      createGunzip(),
      new Transform({
        transform(c: Buffer, _e, cb) {
          hash.update(c);
          cb();
        },
      }),
      { signal },
    );
  } catch {
    return undefined;
  }
  return `sha256:${hash.digest('hex')}`;
}

async function loadDocker(store: LoadStore, manifestBytes: Buffer, resolvePath: (p: string) => Stored | undefined, signal?: AbortSignal): Promise<LoadResult> {
  const list = parseJson(manifestBytes);
  if (!Array.isArray(list)) throw new ArchiveError('INVALID_ARCHIVE', 'manifest.json is not an array');
  const images: LoadResult['images'] = [];
  for (const [i, item] of list.entries()) {
    const e = item as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof e.Config !== 'string' || !Array.isArray(e.Layers)) throw new ArchiveError('INVALID_ARCHIVE', `manifest.json[${i}] lacks Config or Layers`);
    const cfg = resolvePath(e.Config);
    if (!cfg) throw new ArchiveError('MISSING_BLOB', `the archive lacks ${e.Config}`);
    // Config files are named after their digest (the image ID); check the name.
    const hex = /([a-f0-9]{64})(\.json)?$/.exec(e.Config)?.[1];
    if (hex && cfg.digest !== `sha256:${hex}`) throw new ArchiveError('DIGEST_MISMATCH', `${e.Config} hashes to ${cfg.digest}`);
    const config = validateImageConfig(parseJson(await store.readBytes(cfg.digest, signal), Number.MAX_SAFE_INTEGER));
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== e.Layers.length) {
      throw new ArchiveError('INVALID_ARCHIVE', `${e.Config}: ${e.Layers.length} layers listed but ${diffIds.length} diff_ids in the config`);
    }
    const layers: Descriptor[] = [];
    for (const [j, lp] of (e.Layers as unknown[]).entries()) {
      if (typeof lp !== 'string') throw new ArchiveError('INVALID_ARCHIVE', `manifest.json[${i}].Layers[${j}] is not a path`);
      const stored = resolvePath(lp);
      if (!stored) throw new ArchiveError('MISSING_BLOB', `the archive lacks layer ${lp}`);
      if (stored.digest === diffIds[j]) {
        layers.push({ mediaType: MediaType.ociLayer, ...stored });
      } else if ((await gunzipDigest(store, stored.digest, signal)) === diffIds[j]) {
        layers.push({ mediaType: MediaType.ociLayerGzip, ...stored });
      } else {
        throw new ArchiveError('DIGEST_MISMATCH', `layer ${lp} (${stored.digest}) does not match diff_id ${diffIds[j]} of the config`);
      }
    }
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, ...cfg },
      layers,
    };
    const descriptor = await store.writeBytes(canonicalJson(manifest), MediaType.ociManifest, signal);
    const tags = Array.isArray(e.RepoTags) ? (e.RepoTags as unknown[]) : [];
    const names = tags.map((t) => (typeof t === 'string' ? nameOf(t) : undefined)).filter((n): n is string => n !== undefined && !n.includes('@'));
    await record(store, descriptor, names, signal);
    images.push({ names, descriptor });
  }
  return { format: 'docker', images };
}
