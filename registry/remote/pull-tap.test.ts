import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from '../../test/support/registry-server.js';
import type { Descriptor, ImageConfig, Manifest } from '../oci/types.js';
import { createRegistryClient } from './client.js';
import { MemoryStore } from './memory-store.js';
import { pullImage, type LayerTap } from './pull.js';
import { pushImage } from './push.js';
import { makeTestImage } from './test-image.js';

// Against a real registry of its own: the digest test rewrites a blob in the registry's storage.
let reg: TestRegistry;
const client = createRegistryClient({ retry: { baseDelayMs: 10, retries: 1 } });
beforeAll(async () => {
  reg = await startTestRegistry();
});
afterAll(async () => {
  await client.close();
  await reg.stop();
});

/** Pushes a fresh image of `layers` sizes; returns its reference, manifest and source store. */
async function pushed(repo: string, layers: number[]): Promise<{ ref: string; manifest: Manifest; src: MemoryStore; desc: Descriptor }> {
  const src = new MemoryStore();
  const desc = await makeTestImage(src, { layers });
  const ref = `${reg.host}/${repo}:1`;
  await pushImage(src, desc, ref, { client });
  const manifest = JSON.parse((await src.readBytes(desc.digest)).toString('utf8')) as Manifest;
  return { ref, manifest, src, desc };
}

/** What the registry stores for `digest`. */
const blobFile = (digest: string): string => {
  const hex = digest.slice('sha256:'.length);
  return join(reg.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
};

async function sha256Of(body: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const c of body) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

describe('pull with a layer tap (real registry)', () => {
  it('hands every layer to the tap as it downloads, after the config, and stores them too', async () => {
    const { ref, manifest, src, desc } = await pushed('tap/ok', [300_000, 2_000_000, 0]);
    const dst = new MemoryStore();
    const seen = new Map<number, string>();
    const configs: ImageConfig[] = [];
    const tap: LayerTap = async (layer, index, config) => {
      // The config is in the store before any layer is tapped.
      expect(await dst.stat(manifest.config.digest)).toBeDefined();
      configs.push(config);
      expect(manifest.layers[index]!.digest).toBe(layer.digest);
      return async (body) => seen.set(index, await sha256Of(body));
    };
    const r = await pullImage(ref, dst, { client, tapLayer: tap });
    expect(r.descriptor.digest).toBe(desc.digest);
    expect([...seen.keys()].sort()).toEqual([0, 1, 2]);
    for (const [i, d] of seen) expect(d).toBe(manifest.layers[i]!.digest);
    for (const l of manifest.layers) expect(dst.blobs.get(l.digest)!.equals(src.blobs.get(l.digest)!)).toBe(true);
    expect(configs[0]!.rootfs.diff_ids).toHaveLength(3);
    expect(await dst.resolve(r.name)).toMatchObject({ digest: desc.digest });
  });

  it('does not wait on a tap that leaves its stream unread, nor tap what the store has', async () => {
    const { ref, manifest } = await pushed('tap/unread', [1_500_000]);
    const dst = new MemoryStore();
    await pullImage(ref, dst, { client, tapLayer: async () => async () => undefined });
    expect(dst.blobs.has(manifest.layers[0]!.digest)).toBe(true);
    let tapped = 0;
    await pullImage(ref, dst, { client, name: 'again', tapLayer: async () => { tapped++; return undefined; } });
    expect(tapped).toBe(0);
  });

  it('fails the pull when the tap fails, and keeps neither the blob nor the name', async () => {
    const { ref, manifest } = await pushed('tap/fails', [2_000_000]);
    const dst = new MemoryStore();
    const tap: LayerTap = async () => async (body) => {
      for await (const _ of body) throw Object.assign(new Error('refused by the reader'), { code: 'LAYER_UNSAFE' });
    };
    await expect(pullImage(ref, dst, { client, tapLayer: tap })).rejects.toMatchObject({ code: 'LAYER_UNSAFE' });
    expect(dst.blobs.has(manifest.layers[0]!.digest)).toBe(false);
    expect(dst.names.size).toBe(0);
  });

  it('never ends a tapped stream cleanly when the registry serves bytes of another digest', async () => {
    const { ref, manifest } = await pushed('tap/tampered', [1_000_000]);
    const layer = manifest.layers[0]!;
    // Same size, same uncompressed content: only the gzip header's OS byte differs, so nothing
    // but the digest check can tell (an extraction of it would succeed and match its diff ID).
    const bytes = readFileSync(blobFile(layer.digest));
    bytes[9] = bytes[9] === 255 ? 3 : 255;
    writeFileSync(blobFile(layer.digest), bytes);
    const dst = new MemoryStore();
    let ended = false;
    let readerError: unknown;
    const tap: LayerTap = async () => async (body) => {
      try {
        await sha256Of(body);
        ended = true;
      } catch (err) {
        readerError = err;
        throw err;
      }
    };
    await expect(pullImage(ref, dst, { client, tapLayer: tap })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(ended).toBe(false);
    expect(readerError).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(dst.blobs.has(layer.digest)).toBe(false);
    expect(dst.names.size).toBe(0);
  });
});
