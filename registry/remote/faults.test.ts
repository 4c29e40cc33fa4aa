import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../test/support/fault-proxy.js';
import { startTestRegistry, TEST_USERS, type TestRegistry } from '../../test/support/registry-server.js';
import { createRegistryClient, type RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { MemoryStore } from './memory-store.js';
import { pullImage } from './pull.js';
import { pushImage } from './push.js';
import type { RetryEvent } from './transport.js';
import { makeTestImage } from './test-image.js';

// The real registry from the global setup, behind a fault-injecting proxy.
const registry = inject('registry');
let proxy: FaultProxy;
let client: RegistryClient;
const retries: RetryEvent[] = [];
beforeAll(async () => {
  proxy = await startFaultProxy(registry);
  client = createRegistryClient({ retry: { retries: 4, baseDelayMs: 5, maxDelayMs: 1000 }, onRetry: (e) => retries.push(e) });
});
afterAll(async () => {
  await client.close();
  await proxy.stop();
});

const blobPath = /\/blobs\/sha256:/;
const uploadPath = /\/blobs\/uploads\//;

describe('faults between rbuild and the real registry', () => {
  it('push finishes through 500s, 429 + Retry-After, dropped connections mid-upload and slow answers', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [200_000, 2_600_000, 5000] });
    proxy.clear();
    proxy.add({ method: 'HEAD', path: blobPath, fault: { kind: 'status', status: 500 }, times: 2 });
    proxy.add({ method: 'POST', path: uploadPath, fault: { kind: 'status', status: 503 }, times: 1 });
    proxy.add({ method: 'PATCH', path: uploadPath, fault: { kind: 'drop-mid-body', afterBytes: 300_000 }, times: 1 });
    proxy.add({ method: 'PATCH', path: uploadPath, fault: { kind: 'status', status: 502 }, times: 1 });
    proxy.add({ method: 'PUT', path: uploadPath, fault: { kind: 'drop' }, times: 1 });
    proxy.add({ method: 'PUT', path: /\/manifests\//, fault: { kind: 'status', status: 429, retryAfter: 1 }, times: 1 });
    proxy.add({ path: /./, fault: { kind: 'slow', delayMs: 50 }, times: 3 });
    const before = retries.length;
    const pushed = await pushImage(src, desc, `${proxy.host}/faults/push:1`, { client, monolithicMax: 1 << 20, chunkSize: 1 << 20 });
    expect(pushed.digest).toBe(desc.digest);
    expect(retries.slice(before).some((r) => r.status === 429 && r.delayMs === 1000)).toBe(true);
    expect(proxy.log.filter((l) => l.fault === 'drop-mid-body')).toHaveLength(1);
    // The chunked upload resumed: a status query (GET on the upload) followed the cut PATCH.
    expect(proxy.log.some((l) => l.method === 'GET' && uploadPath.test(l.path))).toBe(true);

    // What the registry holds is exactly what we pushed.
    proxy.clear();
    const dst = new MemoryStore();
    const pulled = await pullImage(`${registry}/faults/push:1`, dst, { client });
    expect(pulled.descriptor.digest).toBe(desc.digest);
    for (const l of pulled.manifest.layers) expect(dst.blobs.get(l.digest)!.equals(src.blobs.get(l.digest)!)).toBe(true);
  });

  it('a chunked upload resumes from the offset the registry acknowledged, not from 0', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [3_000_000] });
    proxy.clear();
    proxy.add({ method: 'PATCH', path: uploadPath, fault: { kind: 'slow', delayMs: 1 }, times: 1 });
    proxy.add({ method: 'PATCH', path: uploadPath, fault: { kind: 'status', status: 503 }, times: 1 });
    const start = proxy.log.length;
    await pushImage(src, desc, `${proxy.host}/faults/resume:1`, { client, monolithicMax: 1 << 20, chunkSize: 1 << 20 });
    const patches = proxy.log.slice(start).filter((l) => l.method === 'PATCH').map((l) => `${l.contentRange} ${l.status}`);
    const size = (JSON.parse(src.blobs.get(desc.digest)!.toString()) as { layers: Array<{ size: number }> }).layers[0]!.size;
    expect(patches).toEqual(['0-1048575 202', '1048576-2097151 503', '1048576-2097151 202', `2097152-${size - 1} 202`]);
  });

  it("honours the registry's OCI-Chunk-Min-Length: chunks grow to it", async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [5_000_000] });
    proxy.clear();
    proxy.add({ method: 'POST', path: uploadPath, fault: { kind: 'add-headers', headers: { 'OCI-Chunk-Min-Length': String(2 << 20) } }, times: 10 }); // every upload start, as a registry sends it: config and layer POSTs race
    const start = proxy.log.length;
    const pushed = await pushImage(src, desc, `${proxy.host}/faults/minchunk:1`, { client, monolithicMax: 1 << 20, chunkSize: 1 << 20 });
    expect(pushed.digest).toBe(desc.digest);
    const size = (JSON.parse(src.blobs.get(desc.digest)!.toString()) as { layers: Array<{ size: number }> }).layers[0]!.size;
    const ranges = proxy.log.slice(start).filter((l) => l.method === 'PATCH').map((l) => l.contentRange);
    expect(ranges).toEqual(['0-2097151', '2097152-4194303', `4194304-${size - 1}`]);
  });

  it('a 413 (a proxy with a body size limit) halves the request until it fits, monolithic and chunked', async () => {
    for (const opts of [{}, { monolithicMax: 1 << 20 }]) {
      const src = new MemoryStore();
      const desc = await makeTestImage(src, { layers: [12 << 20] });
      const size = (JSON.parse(src.blobs.get(desc.digest)!.toString()) as { layers: Array<{ size: number }> }).layers[0]!.size;
      proxy.clear();
      proxy.add({ path: uploadPath, bodyOver: 7 << 20, fault: { kind: 'status', status: 413 }, times: 100 });
      const start = proxy.log.length;
      const pushed = await pushImage(src, desc, `${proxy.host}/faults/too-large:1`, { client, ...opts });
      expect(pushed.digest).toBe(desc.digest);
      const sent = proxy.log.slice(start).filter((l) => l.status === 202 && l.method === 'PATCH').map((l) => l.contentRange);
      // Monolithic: the PUT of the whole is refused, then halves of it; chunked: 1 GiB halved down to 8 MiB (still
      // > 7), then the 5 MiB minimum.
      const chunk = 'monolithicMax' in opts ? 5 << 20 : Math.ceil(size / 2);
      const want: string[] = [];
      for (let o = 0; o < size; o += chunk) want.push(`${o}-${Math.min(size, o + chunk) - 1}`);
      expect(sent).toEqual(want);
      proxy.clear();
      const pulled = await pullImage(`${registry}/faults/too-large:1`, new MemoryStore(), { client });
      expect(pulled.descriptor.digest).toBe(desc.digest);
    }
  });

  it('pull finishes through dropped connections mid-blob (resuming with Range), resets and 5xx', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [1_500_000, 700_000] });
    await pushImage(src, desc, `${registry}/faults/pull:1`, { client });
    proxy.clear();
    proxy.add({ method: 'GET', path: /\/manifests\//, fault: { kind: 'status', status: 503 }, times: 1 });
    proxy.add({ method: 'GET', path: blobPath, fault: { kind: 'drop-mid-body', afterBytes: 400_000 }, times: 2 });
    proxy.add({ method: 'GET', path: blobPath, fault: { kind: 'drop' }, times: 1 });
    proxy.add({ method: 'GET', path: blobPath, fault: { kind: 'status', status: 500 }, times: 1 });
    const dst = new MemoryStore();
    const pulled = await pullImage(`${proxy.host}/faults/pull:1`, dst, { client });
    expect(pulled.descriptor.digest).toBe(desc.digest);
    for (const l of pulled.manifest.layers) expect(dst.blobs.get(l.digest)!.equals(src.blobs.get(l.digest)!)).toBe(true);
    expect(proxy.log.filter((l) => l.method === 'GET' && l.fault === 'drop-mid-body')).toHaveLength(2);
  });

  it('a hopeless registry gives the clear error', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [1000] });
    proxy.clear();
    proxy.add({ path: /./, fault: { kind: 'status', status: 429, retryAfter: 0 }, times: 100 });
    const err = await pushImage(src, desc, `${proxy.host}/faults/hopeless:1`, { client }).catch((e: unknown) => e);
    proxy.clear();
    expect(err).toBeInstanceOf(RegistryError);
    const e = err as RegistryError;
    expect(e.message).toMatch(/^pushing sha256:[0-9a-f]{12}…: 429 Too Many Requests from 127\.0\.0\.1:\d+ \(retried 4 times\)$/);
    expect(e).toMatchObject({ code: 'TOOMANYREQUESTS', status: 429, registry: proxy.host, repository: 'faults/hopeless', retries: 4 });
    expect(e.hint).toMatch(/rate-limiting/);
  });

  it('an unreachable registry names the host and what to check', async () => {
    const err = await pullImage('127.0.0.1:1/none:1', new MemoryStore(), { client }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NETWORK', registry: '127.0.0.1:1' });
    expect((err as Error).message).toMatch(/ECONNREFUSED.*retried 4 times/s);
    expect((err as RegistryError).hint).toMatch(/nothing is listening at 127\.0\.0\.1:1/);
  });
});

describe('hostile registries', () => {
  it('rejects a blob whose bytes do not match its digest', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [100_000] });
    await pushImage(src, desc, `${registry}/hostile/blob:1`, { client });
    const layer = JSON.parse(src.blobs.get(desc.digest)!.toString()).layers[0].digest as string;
    proxy.clear();
    proxy.add({ method: 'GET', path: new RegExp(layer), fault: { kind: 'corrupt' }, times: 1 });
    const dst = new MemoryStore();
    const err = await pullImage(`${proxy.host}/hostile/blob:1`, dst, { client }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH', digest: layer });
    expect((err as Error).message).toMatch(/^pulling sha256:[0-9a-f]{12}…: blob content does not match its digest from 127/);
    expect((err as { hint?: string }).hint).toMatch(/does not match its digest/);
    expect(dst.blobs.has(layer as `sha256:${string}`)).toBe(false);
    expect(await dst.list()).toEqual([]);
  });

  it('rejects a manifest whose bytes do not match the digest asked for', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [10] });
    await pushImage(src, desc, `${registry}/hostile/manifest:1`, { client });
    proxy.clear();
    proxy.add({ method: 'GET', path: /\/manifests\//, fault: { kind: 'corrupt' }, times: 1 });
    const err = await pullImage(`${proxy.host}/hostile/manifest@${desc.digest}`, new MemoryStore(), { client }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('refuses an oversized manifest', async () => {
    proxy.clear();
    proxy.add({ method: 'GET', path: /\/manifests\//, fault: { kind: 'body', body: Buffer.alloc(5 << 20, 0x20) }, times: 1 });
    const err = await pullImage(`${proxy.host}/hostile/big:1`, new MemoryStore(), { client }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MANIFEST_TOO_LARGE' });
  });
});

describe('redirects', () => {
  let reg: TestRegistry;
  let cdn: Server;
  let cdnHost: string;
  const cdnSawAuth: boolean[] = [];
  const cdnBlobs = new Map<string, Buffer>();
  beforeAll(async () => {
    reg = await startTestRegistry({ auth: 'basic' });
    // A "CDN" on another loopback address that serves blobs and records Authorization headers.
    cdn = createServer((req, res) => {
      cdnSawAuth.push(!!req.headers.authorization);
      const b = cdnBlobs.get((req.url ?? '').slice(1));
      if (!b) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': b.length }).end(b);
    });
    await new Promise<void>((r) => cdn.listen(0, '127.0.0.2', r));
    cdnHost = `127.0.0.2:${(cdn.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await reg.stop();
    await new Promise((r) => cdn.close(r));
  });

  it('follows blob redirects and drops credentials when the host changes', async () => {
    const c = createRegistryClient({ credentials: async () => ({ username: 'tester', password: TEST_USERS.tester }), retry: { baseDelayMs: 5 } });
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [123_456] });
    await pushImage(src, desc, `${reg.host}/redir/app:1`, { client: c });
    const layer = JSON.parse(src.blobs.get(desc.digest)!.toString()).layers[0].digest as `sha256:${string}`;
    cdnBlobs.set(layer, src.blobs.get(layer)!);
    const front = await startFaultProxy(reg.host, [
      { method: 'GET', path: new RegExp(layer), fault: { kind: 'redirect', location: `http://${cdnHost}/${layer}` }, times: 1 },
    ]);
    try {
      const dst = new MemoryStore();
      await pullImage(`${front.host}/redir/app:1`, dst, { client: c });
      expect(dst.blobs.get(layer)!.equals(src.blobs.get(layer)!)).toBe(true);
      expect(front.log.find((l) => l.fault === 'redirect')?.authorization).toBe(true);
      expect(cdnSawAuth).toEqual([false]);
    } finally {
      await front.stop();
      await c.close();
    }
  });
});
