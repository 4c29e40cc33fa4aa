import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from '../../test/support/registry-server.js';
import { MediaType, type Descriptor, type Digest, type ImageConfig, type Manifest } from '../../registry/oci/types.js';
import { createRegistryClient } from '../../registry/remote/client.js';
import { MemoryStore } from '../../registry/remote/memory-store.js';
import { pullImage } from '../../registry/remote/pull.js';
import { pushImage } from '../../registry/remote/push.js';
import { openStore, type OciLayoutStore } from '../../registry/store/oci-layout-store.js';
import { resolveImage } from '../../registry/store/images.js';
import { chainIds } from '../../snapshotter/chain-id.js';
import { createSnapshotter } from '../../snapshotter/create.js';
import type { Digest as ChainDigest, Snapshotter } from '../../snapshotter/snapshotter.js';
import { makeTar } from '../../snapshotter/testing/make-tar.js';
import { coalesce, unpackWhilePulling } from './pull-unpack.js';

// The real registry (its own: one test rewrites a blob in its storage), the real OCI store and the
// real overlay snapshotter (the tests run as root, as the build namespace's root would).
let reg: TestRegistry;
const client = createRegistryClient({ retry: { baseDelayMs: 10, retries: 1 } });
const dirs: string[] = [];
beforeAll(async () => {
  reg = await startTestRegistry();
});
afterAll(async () => {
  await client.close();
  await reg.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Pushed {
  ref: string;
  manifest: Manifest;
  config: ImageConfig;
  /** The big layer's file bodies (big0..big7). */
  bodies: Buffer[];
}

/** Pushes an image of two real gzip layers: a big one (random file bodies, so it streams a while) and a small one. */
async function pushImageOf(repo: string): Promise<Pushed> {
  const src = new MemoryStore();
  const bodies = Array.from({ length: 8 }, () => randomBytes(1 << 20));
  const tars = [
    makeTar([{ path: 'etc', type: 'dir' }, { path: 'etc/os-release', body: 'ID=test\n' }, ...bodies.map((body, i) => ({ path: `big${i}`, body }))]),
    makeTar([{ path: 'etc/extra', body: 'second layer\n' }]),
  ];
  const layers: Descriptor[] = [];
  for (const t of tars) {
    const d = await src.writeBytes(gzipSync(t, { level: 1 }), MediaType.ociLayerGzip);
    layers.push({ mediaType: MediaType.ociLayerGzip, digest: d.digest, size: d.size });
  }
  const config: ImageConfig = {
    architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: tars.map(sha) },
  };
  const configDesc = await src.writeBytes(Buffer.from(JSON.stringify(config)), MediaType.ociConfig);
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers };
  const desc = await src.writeBytes(Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest);
  const ref = `${reg.host}/${repo}:1`;
  await pushImage(src, { ...desc, mediaType: MediaType.ociManifest }, ref, { client });
  return { ref, manifest, config, bodies };
}

/** A fresh store and snapshotter under one root. */
async function freshRoot(): Promise<{ root: string; store: OciLayoutStore; snap: Snapshotter }> {
  const root = mkdtempSync(join(tmpdir(), 'rbuild-pull-unpack-'));
  dirs.push(root);
  return { root, store: await openStore(join(root, 'oci')), snap: await createSnapshotter({ root, driver: 'overlay' }) };
}

const blobFile = (digest: string): string => {
  const hex = digest.slice('sha256:'.length);
  return join(reg.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
};

/** Nothing half-made is left: no staged snapshot, no temp blob. */
function expectNoLeftovers(root: string, store: OciLayoutStore): void {
  expect(readdirSync(join(root, 'snapshots', 'tmp')).filter((n) => !n.startsWith('probe-'))).toEqual([]);
  // (the store's `writer-<pid>` mark of this process is not a leftover)
  expect(readdirSync(store.tmpDir).filter((n) => !n.endsWith('.lock') && !/^writer-\d+$/.test(n))).toEqual([]);
}

describe('unpackWhilePulling (real registry, store and snapshotter)', () => {
  it('extracts the first layer while it downloads; the image and its blobs are stored as by a plain pull', async () => {
    const img = await pushImageOf('unpack/ok');
    const { root, store, snap } = await freshRoot();
    const r = await pullImage(img.ref, store, { client, tapLayer: unpackWhilePulling(snap) });
    const chains = chainIds(img.config.rootfs.diff_ids as ChainDigest[]);
    expect(await snap.exists(chains[0]!)).toBe(true);
    const view = await snap.view('v', chains[0]);
    try {
      expect(readFileSync(join(view.root, 'etc/os-release'), 'utf8')).toBe('ID=test\n');
      for (let i = 0; i < img.bodies.length; i++) expect(readFileSync(join(view.root, `big${i}`)).equals(img.bodies[i]!)).toBe(true);
    } finally {
      await snap.remove('v');
    }
    for (const l of img.manifest.layers) expect(await store.stat(l.digest)).toMatchObject({ size: l.size });
    expect((await resolveImage(store, r.name)).manifestDescriptor.digest).toBe(r.descriptor.digest);
    expectNoLeftovers(root, store);
  });

  it('refuses a layer whose bytes do not match its digest: no snapshot under its chain ID, no blob, no name', async () => {
    const img = await pushImageOf('unpack/tampered');
    const layer = img.manifest.layers[0]!;
    const original = readFileSync(blobFile(layer.digest));
    // Same size and same tar inside (only the gzip header's OS byte differs): extraction and its
    // diff ID check alone would accept it; only the digest verified on the way through refuses it.
    const tampered = Buffer.from(original);
    tampered[9] = tampered[9] === 255 ? 3 : 255;
    writeFileSync(blobFile(layer.digest), tampered);
    const { root, store, snap } = await freshRoot();
    const chain0 = chainIds(img.config.rootfs.diff_ids as ChainDigest[])[0]!;
    try {
      await expect(pullImage(img.ref, store, { client, tapLayer: unpackWhilePulling(snap) })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
      expect(await snap.exists(chain0)).toBe(false);
      expect(await store.stat(layer.digest)).toBeUndefined();
      await expect(resolveImage(store, img.ref)).rejects.toMatchObject({ code: 'IMAGE_UNKNOWN' });
      expectNoLeftovers(root, store);
    } finally {
      writeFileSync(blobFile(layer.digest), original);
    }
    // The store is consistent: the same pull works once the registry serves the right bytes.
    await pullImage(img.ref, store, { client, tapLayer: unpackWhilePulling(snap) });
    expect(await snap.exists(chain0)).toBe(true);
  });

  it('leaves the store consistent when the pull is interrupted mid-layer', async () => {
    const img = await pushImageOf('unpack/interrupted');
    const { root, store, snap } = await freshRoot();
    const big = img.manifest.layers[0]!;
    const abort = new AbortController();
    const pulling = pullImage(img.ref, store, {
      client, tapLayer: unpackWhilePulling(snap), signal: abort.signal,
      onProgress: (e) => {
        if (e.type === 'blob-progress' && e.digest === big.digest && e.done > big.size / 3) abort.abort(new Error('interrupted'));
      },
    });
    await expect(pulling).rejects.toThrow();
    const chain0 = chainIds(img.config.rootfs.diff_ids as ChainDigest[])[0]!;
    expect(await snap.exists(chain0)).toBe(false);
    expect(await store.stat(big.digest)).toBeUndefined();
    await expect(resolveImage(store, img.ref)).rejects.toMatchObject({ code: 'IMAGE_UNKNOWN' });
    expectNoLeftovers(root, store);
    await pullImage(img.ref, store, { client, tapLayer: unpackWhilePulling(snap) });
    expect(await snap.exists(chain0)).toBe(true);
    expect(await store.stat(big.digest)).toMatchObject({ size: big.size });
  });
});

describe('coalesce', () => {
  it('gathers small pieces into pieces of at least the given size, keeping every byte in order', async () => {
    const pieces = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1000 + i, i));
    const out: Buffer[] = [];
    for await (const b of coalesce((async function* () { yield* pieces; })(), 10_000)) out.push(b);
    expect(Buffer.concat(out).equals(Buffer.concat(pieces))).toBe(true);
    expect(out.slice(0, -1).every((b) => b.length >= 10_000)).toBe(true);
    expect(out.length).toBeLessThan(10);
  });

  it('passes a failure of its source on', async () => {
    const failing = (async function* () {
      yield Buffer.alloc(10);
      throw Object.assign(new Error('digest mismatch'), { code: 'DIGEST_MISMATCH' });
    })();
    await expect((async () => { for await (const _ of coalesce(failing)) void _; })()).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
});
