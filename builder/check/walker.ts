/**
 * The image walker: reads each layer once, in order, as a stream (decompress,
 * then tar entries; file bodies are skipped after their first bytes) and keeps
 * only what the rules need, keyed by path so that later layers (overwrites and
 * whiteouts) update it. Whiteouts only hide entries of earlier layers, so a
 * secret deleted by a later layer is kept with the layer that removed it.
 */
import type { Readable } from 'node:stream';
import { decompressLayer } from '../../snapshotter/decompress.js';
import { readTar } from '../../snapshotter/tar-reader.js';
import type { Descriptor, Digest, History } from '../../registry/oci/types.js';
import { cacheDirOf, classifySecret, secretCandidate, SNIFF_BYTES } from './patterns.js';
import type { CacheFact, FileFact, ImageFacts, LayerFacts, SecretFact } from './types.js';

/** Where the walker reads layer blobs from (a ContentStore has it). */
export interface BlobSource {
  read(digest: Digest, signal?: AbortSignal): Promise<Readable>;
}

/** Options for walkLayers. */
export interface WalkOptions {
  /** How many leading layers belong to the base image. */
  baseLayers?: number;
  /** The config's history, to name the instruction behind each layer. */
  history?: History[];
  /** Paths whose final metadata the rules need (WORKDIR). */
  watch?: string[];
  signal?: AbortSignal;
  /** Called after each layer (for progress). */
  onLayer?: (layer: LayerFacts) => void;
}

const MAX_ETC_FILE = 1 << 20;
const PRIVATE_KEY_SNIFF = 64;

/** Per-path state with the layer that wrote it, so whiteouts can hide only earlier layers. */
class PathMap<T extends { layer: number }> extends Map<string, T> {
  /** Removes `path` and everything under it written before `layer`; returns what was removed. */
  removeUnder(path: string, layer: number, self: boolean): T[] {
    const out: T[] = [];
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const [k, v] of this) {
      if (v.layer >= layer) continue;
      if ((self && k === path) || k.startsWith(prefix)) {
        out.push(v);
        this.delete(k);
      }
    }
    return out;
  }
}

/** Normalises a tar entry name to an absolute path (`./a/b/` -> `/a/b`). */
export function entryPath(name: string): string {
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  return `/${parts.join('/')}`;
}

/** Reads every layer once and gathers the facts the rules need. */
export async function walkLayers(source: BlobSource, layers: readonly Descriptor[], opts: WalkOptions = {}): Promise<ImageFacts> {
  const signal = opts.signal;
  const baseLayers = opts.baseLayers ?? 0;
  const watchSet = new Set((opts.watch ?? []).map(entryPath));
  const createdBy = layerHistory(opts.history, layers.length);

  const privileged = new PathMap<FileFact>();
  const capabilities = new PathMap<FileFact>();
  const worldWritable = new PathMap<FileFact>();
  const watched = new PathMap<FileFact>();
  const cacheFiles = new PathMap<{ layer: number; size: number; dir: string; manager: string }>();
  const liveSecrets = new PathMap<SecretFact>();
  const etc = new PathMap<{ layer: number; text: string }>();
  const secrets: SecretFact[] = [];
  const layerFacts: LayerFacts[] = [];
  const maps = [privileged, capabilities, worldWritable, watched, cacheFiles, etc] as PathMap<{ layer: number }>[];

  const remove = (path: string, layer: number, self: boolean): void => {
    for (const m of maps) m.removeUnder(path, layer, self);
    for (const s of liveSecrets.removeUnder(path, layer, self)) s.removedIn = layer;
  };

  const replace = (path: string, layer: number): void => {
    for (const m of maps) if ((m.get(path)?.layer ?? layer) < layer) m.delete(path);
    const s = liveSecrets.get(path);
    if (s && s.layer < layer) {
      s.removedIn = layer;
      liveSecrets.delete(path);
    }
  };

  for (const [index, desc] of layers.entries()) {
    signal?.throwIfAborted();
    const facts: LayerFacts = { index, digest: desc.digest, base: index < baseLayers, entries: 0, bytes: 0 };
    if (createdBy[index] !== undefined) facts.createdBy = createdBy[index];
    // read the blob, decompress by magic bytes, then walk the tar
    const raw = await source.read(desc.digest, signal);
    const tar = await decompressLayer(raw, desc.mediaType, signal);
    for await (const entry of readTar(tar)) {
      const h = entry.header;
      facts.entries++;
      facts.bytes += h.size;
      const path = entryPath(h.path);
      if (path === '/') continue;
      const slash = path.lastIndexOf('/');
      const base = path.slice(slash + 1);
      const dir = path.slice(0, slash) || '/';
      if (base === '.wh..wh..opq') {
        remove(dir, index, false);
        continue;
      }
      if (base.startsWith('.wh.')) {
        remove(`${dir === '/' ? '' : dir}/${base.slice(4)}`, index, true);
        continue;
      }
      // An entry replaces whatever an earlier layer had at the same path (one lookup per map, not a scan:
      // a file replacing a whole directory, which would hide its children, is rare enough to ignore).
      replace(path, index);

      const type: FileFact['type'] = h.type === 'file' || h.type === 'dir' || h.type === 'symlink' || h.type === 'hardlink' ? h.type : 'other';
      const fact: FileFact = { path, layer: index, type, mode: h.mode, uid: h.uid, gid: h.gid, size: h.size };
      if (watchSet.has(path)) watched.set(path, fact);
      if (type === 'file' && (h.mode & 0o6000) !== 0) privileged.set(path, fact);
      if (type === 'file' && h.xattrs?.['security.capability'] !== undefined) capabilities.set(path, fact);
      if (type === 'file' && (h.mode & 0o002) !== 0) worldWritable.set(path, fact);
      if (type === 'dir' && (h.mode & 0o002) !== 0 && (h.mode & 0o1000) === 0) worldWritable.set(path, fact);
      if (type !== 'file') continue;

      const cache = cacheDirOf(path);
      if (cache) cacheFiles.set(path, { layer: index, size: h.size, ...cache });
      if (h.size === 0) continue;
      const isEtc = path === '/etc/passwd' || path === '/etc/group';
      // Every file's first bytes are sniffed for a PEM private key; candidates by name get more.
      const want = isEtc ? Math.min(h.size, MAX_ETC_FILE) : secretCandidate(path) ? SNIFF_BYTES : PRIVATE_KEY_SNIFF;
      const head = await readHead(entry.body(), want);
      if (isEtc && h.size <= MAX_ETC_FILE) etc.set(path, { layer: index, text: head.toString('utf8') });
      const kind = classifySecret(path, head);
      if (kind) {
        const s: SecretFact = { path, kind, layer: index };
        secrets.push(s);
        liveSecrets.set(path, s);
      }
    }
    layerFacts.push(facts);
    opts.onLayer?.(facts);
  }

  const caches = new Map<string, CacheFact>();
  for (const f of cacheFiles.values()) {
    const c = caches.get(f.dir) ?? { dir: f.dir, manager: f.manager, bytes: 0, files: 0, layers: [] };
    c.bytes += f.size;
    c.files++;
    if (!c.layers.includes(f.layer)) c.layers.push(f.layer);
    caches.set(f.dir, c);
  }
  const sorted = (m: Map<string, FileFact>): FileFact[] => [...m.values()].sort((a, b) => a.layer - b.layer || a.path.localeCompare(b.path));
  const out: ImageFacts = {
    layers: layerFacts,
    privileged: sorted(privileged),
    capabilities: sorted(capabilities),
    worldWritable: sorted(worldWritable),
    secrets,
    caches: [...caches.values()].map((c) => ({ ...c, layers: c.layers.sort((a, b) => a - b) })),
    watched,
  };
  const passwd = etc.get('/etc/passwd');
  const group = etc.get('/etc/group');
  if (passwd) out.passwd = passwd.text;
  if (group) out.group = group.text;
  return out;
}

/** Up to `n` first bytes of a body; the tar reader skips the rest. */
async function readHead(body: AsyncGenerator<Buffer>, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  for await (const c of body) {
    chunks.push(c);
    have += c.length;
    if (have >= n) break;
  }
  return Buffer.concat(chunks).subarray(0, n);
}

/** The created_by of each layer, when the non-empty history entries line up with the layers. */
export function layerHistory(history: History[] | undefined, layerCount: number): Array<string | undefined> {
  const own = (history ?? []).filter((h) => !h.empty_layer);
  if (own.length !== layerCount) return [];
  return own.map((h) => h.created_by);
}
