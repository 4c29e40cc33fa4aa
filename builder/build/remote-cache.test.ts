import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Descriptor, Digest, Manifest } from '../../registry/oci/types.js';
import { BuildCache, type CacheRecord } from './cache.js';
import { CACHE_CONFIG_MEDIA_TYPE, ImportedCache, cacheDocument, exportCache, parseCacheDocument, parseCacheSpec, selectRecords, type CacheStore, type RemoteCacheIo } from './remote-cache.js';

const sha = (b: Buffer | string): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const layer = (s: string) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(s) as `sha256:${string}`, size: s.length, diffId: sha(`diff-${s}`) as `sha256:${string}` });
const rec = (...ls: string[]): CacheRecord => ({ config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }, layers: ls.map(layer) });

/** An in-memory store and registry. */
function fakes() {
  const blobs = new Map<string, Buffer>();
  const remote = new Map<string, Buffer>();
  const manifests = new Map<string, Manifest>();
  const fetched: string[] = [];
  const store: CacheStore = {
    async stat(d) {
      const b = blobs.get(d);
      return b ? { size: b.length } : undefined;
    },
    async write(data, expected) {
      const chunks: Buffer[] = [];
      for await (const c of data) chunks.push(c as Buffer);
      const b = Buffer.concat(chunks);
      if (expected?.digest && sha(b) !== expected.digest) throw new Error('digest mismatch');
      blobs.set(sha(b), b);
      return { digest: sha(b), size: b.length };
    },
    async readBytes(d) {
      return blobs.get(d)!;
    },
    async writeBytes(bytes, mediaType) {
      const b = Buffer.from(bytes);
      blobs.set(sha(b), b);
      return { mediaType, digest: sha(b), size: b.length };
    },
  };
  const io: RemoteCacheIo = {
    async fetchManifest(ref) {
      return manifests.get(ref);
    },
    async openBlob(_ref, desc) {
      fetched.push(desc.digest);
      return Readable.from([remote.get(desc.digest)!]);
    },
    async push(desc: Descriptor, ref) {
      const m = JSON.parse(blobs.get(desc.digest)!.toString()) as Manifest;
      for (const d of [m.config, ...m.layers]) remote.set(d.digest, blobs.get(d.digest)!);
      manifests.set(ref, m);
    },
  };
  return { blobs, remote, manifests, fetched, store, io };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('parseCacheSpec', () => {
  it('reads type=registry,ref= and a bare ref', () => {
    expect(parseCacheSpec('type=registry,ref=reg:5000/app:cache')).toEqual({ type: 'registry', ref: 'reg:5000/app:cache' });
    expect(parseCacheSpec('ref=reg/app:cache')).toEqual({ type: 'registry', ref: 'reg/app:cache' });
    expect(parseCacheSpec('reg/app:cache')).toEqual({ type: 'registry', ref: 'reg/app:cache' });
  });
  it('refuses other types and a missing ref', () => {
    expect(() => parseCacheSpec('type=local,dest=/x')).toThrow(/cache type "local" is not supported/);
    expect(() => parseCacheSpec('type=registry')).toThrow(/has no ref=/);
    expect(() => parseCacheSpec('type=registry,junk')).toThrow(/not key=value/);
  });
  it('reads mode=min|max and refuses others', () => {
    expect(parseCacheSpec('type=registry,ref=r/a:c,mode=max')).toEqual({ type: 'registry', ref: 'r/a:c', mode: 'max' });
    expect(parseCacheSpec('type=registry,ref=r/a:c,mode=min').mode).toBe('min');
    expect(() => parseCacheSpec('type=registry,ref=r/a:c,mode=all')).toThrow(/not min or max/);
  });
});

describe('what --cache-to exports', () => {
  it('mode=min keeps the records on the way to the result; base image layers are never exported', async () => {
    // base b1 b2; the result's steps add r1 r2; another stage (same base) adds s1.
    const records = new Map([['k-r1', rec('b1', 'b2', 'r1')], ['k-r2', rec('b1', 'b2', 'r1', 'r2')], ['k-env', rec('b1', 'b2')], ['k-s1', rec('b1', 'b2', 's1')]]);
    const result = rec('b1', 'b2', 'r1', 'r2').layers;
    const base = new Set([layer('b1').digest, layer('b2').digest]);
    expect([...selectRecords(records, 'min', result).keys()].sort()).toEqual(['k-env', 'k-r1', 'k-r2']);
    expect([...selectRecords(records, 'max', result).keys()].sort()).toEqual(['k-env', 'k-r1', 'k-r2', 'k-s1']);
    expect(cacheDocument(records, base).layers.map((l) => l.digest).sort()).toEqual([sha('r1'), sha('r2'), sha('s1')].sort());
    // Blobs named as the layer() helper names them (digest of the name).
    const f = fakes();
    for (const n of ['b1', 'b2', 'r1', 'r2', 's1']) await f.store.write(Readable.from([Buffer.from(n)]));
    await exportCache(records, 'reg/app:min', f.store, f.io, undefined, { result, baseLayers: base });
    expect(f.manifests.get('reg/app:min')!.layers.map((l) => l.digest).sort()).toEqual([sha('r1'), sha('r2')].sort());
    expect([...parseCacheDocument(f.remote.get(f.manifests.get('reg/app:min')!.config.digest)!).keys()].sort()).toEqual(['k-env', 'k-r1', 'k-r2']);
    await exportCache(records, 'reg/app:max', f.store, f.io, undefined, { mode: 'max', result, baseLayers: base });
    expect(f.manifests.get('reg/app:max')!.layers.map((l) => l.digest).sort()).toEqual([sha('r1'), sha('r2'), sha('s1')].sort());
  });
});

describe('--cache-to publishes compressed layers', () => {
  it('the records and the manifest name the published (compressed) blobs; base layers keep theirs', async () => {
    const f = fakes();
    const plain = (n: string) => ({ ...layer(n), mediaType: 'application/vnd.oci.image.layer.v1.tar' });
    for (const n of ['b1', 'r1', 'gz:r1']) await f.store.write(Readable.from([Buffer.from(n)]));
    const records = new Map([['k-r1', { ...rec(), layers: [layer('b1'), plain('r1')] }]]);
    const published: string[] = [];
    const io: RemoteCacheIo = {
      ...f.io,
      async publishLayer(l) {
        published.push(l.digest);
        return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha('gz:r1'), size: 5 };
      },
    };
    await exportCache(records, 'reg/app:c', f.store, io, undefined, { result: records.get('k-r1')!.layers, baseLayers: new Set([layer('b1').digest]) });
    expect(published).toEqual([sha('r1')]);
    const m = f.manifests.get('reg/app:c')!;
    expect(m.layers).toEqual([{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha('gz:r1'), size: 5 }]);
    const doc = parseCacheDocument(f.remote.get(m.config.digest)!).get('k-r1')!;
    expect(doc.layers.map((l) => l.digest)).toEqual([layer('b1').digest, sha('gz:r1')]);
    expect(doc.layers[1]!.diffId).toBe(plain('r1').diffId);
  });
});

describe('cache document', () => {
  it('round-trips records, lists each layer once, and drops broken entries', () => {
    const records = new Map([['sha256:b', rec('x', 'y')], ['sha256:a', rec('x')]]);
    const doc = cacheDocument(records);
    expect(doc.layers.map((l) => l.digest)).toEqual([sha('x'), sha('y')]);
    expect(parseCacheDocument(doc.config)).toEqual(records);
    const broken = Buffer.from(JSON.stringify({ 'rbuild.cache.v1': { k1: { config: {}, layers: [{ digest: 'nope' }] }, k2: 'x' } }));
    expect(parseCacheDocument(broken).size).toBe(0);
    expect(parseCacheDocument(Buffer.from('not json')).size).toBe(0);
  });
});

describe('export and import', () => {
  it('a fresh cache hits from the import, fetching only the blobs a hit needs, and remembers what it used', async () => {
    const a = fakes();
    for (const s of ['l1', 'l2', 'l3']) a.blobs.set(sha(s), Buffer.from(s));
    const records = new Map([['k1', rec('l1')], ['k2', rec('l1', 'l2')], ['k3', rec('l1', 'l2', 'l3')]]);
    const desc = await exportCache(records, 'reg/app:cache', a.store, a.io);
    const m = a.manifests.get('reg/app:cache')!;
    expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(m.config.mediaType).toBe(CACHE_CONFIG_MEDIA_TYPE);
    expect(m.layers).toHaveLength(3);
    expect(desc.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');

    // Another runner: empty store, same registry.
    const b = { ...fakes(), remote: a.remote, manifests: a.manifests };
    const io: RemoteCacheIo = { ...a.io, openBlob: async (ref, d) => { b.fetched.push(d.digest); return a.io.openBlob(ref, d); } };
    const imported = await ImportedCache.load(['reg/app:absent', 'reg/app:cache'], b.store, io);
    expect(imported.size).toBe(3);
    const root = mkdtempSync(join(tmpdir(), 'rcache-'));
    dirs.push(root);
    const cache = new BuildCache(root, false, async (d) => (await b.store.stat(d)) !== undefined);
    cache.fallback = imported;
    b.fetched.length = 0;
    expect(await cache.get('k2')).toEqual(records.get('k2'));
    expect(b.fetched.sort()).toEqual([sha('l1'), sha('l2')].sort());
    expect(await cache.get('nope')).toBeUndefined();
    await cache.put('k9', rec('l1'));
    expect([...cache.touched.keys()].sort()).toEqual(['k2', 'k9']);
    // The hit was stored locally: a second cache without the import hits too.
    expect(await new BuildCache(root, false, async (d) => (await b.store.stat(d)) !== undefined).get('k2')).toEqual(records.get('k2'));
  });
});
