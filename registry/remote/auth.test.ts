import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../../test/support/fault-proxy.js';
import { startTestRegistry, TEST_USERS, type TestRegistry } from '../../test/support/registry-server.js';
import type { Credential } from './auth-transport.js';
import { createRegistryClient, type RegistryClient } from './client.js';
import { MemoryStore } from './memory-store.js';
import { pullImage } from './pull.js';
import { pushImage } from './push.js';
import { makeTestImage } from './test-image.js';

const good: Credential = { username: 'tester', password: TEST_USERS.tester };
const clientWith = (cred?: Credential): RegistryClient =>
  createRegistryClient({ credentials: async () => cred, retry: { baseDelayMs: 10 } });

async function roundTrip(host: string, client: RegistryClient, repo: string): Promise<void> {
  const src = new MemoryStore();
  const desc = await makeTestImage(src, { layers: [4096, 70_000] });
  const pushed = await pushImage(src, desc, `${host}/${repo}:1`, { client });
  expect(pushed.digest).toBe(desc.digest);
  const got = await pullImage(`${host}/${repo}:1`, new MemoryStore(), { client });
  expect(got.descriptor.digest).toBe(desc.digest);
}

describe('htpasswd Basic auth (real registry)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startTestRegistry({ auth: 'basic' });
  });
  afterAll(() => reg.stop());

  it('pushes and pulls with the right credentials', async () => {
    const c = clientWith(good);
    await roundTrip(reg.host, c, 'basic/app');
    await c.checkLogin(reg.host);
    await c.close();
  });

  it('refuses wrong credentials with a clear error that holds no secret', async () => {
    const c = clientWith({ username: 'tester', password: 'wrong-pw-xyz' });
    const err = await pullImage(`${reg.host}/basic/app:1`, new MemoryStore(), { client: c }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401, registry: reg.host });
    expect((err as { hint?: string }).hint).toContain(`rbuild login ${reg.host}`);
    expect(JSON.stringify(err) + String(err) + (err as Error).stack).not.toContain('wrong-pw-xyz');
    await expect(c.checkLogin(reg.host)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await c.close();
  });

  it('refuses anonymous clients', async () => {
    const c = clientWith(undefined);
    await expect(c.checkLogin(reg.host)).rejects.toMatchObject({ status: 401 });
    await c.close();
  });
});

describe('token auth (real registry + test token server)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startTestRegistry({ auth: 'token', tokenOptions: { refreshTokens: { 'refresh-123': 'tester' } } });
  });
  afterAll(() => reg.stop());

  it('pushes and pulls with Bearer tokens fetched with Basic credentials, cached per scope', async () => {
    const c = clientWith(good);
    const before = reg.token!.requests.length;
    await roundTrip(reg.host, c, 'tok/app');
    const asked = reg.token!.requests.slice(before);
    expect(asked.every((r) => r.authorized && r.account === 'tester')).toBe(true);
    // One token per scope set, not one per request.
    expect(asked.length).toBeLessThanOrEqual(3);
    expect(asked.some((r) => r.scope.includes('repository:tok/app:pull,push'))).toBe(true);
    await c.close();
  });

  it('uses an identity token with the OAuth2 refresh-token grant', async () => {
    const c = clientWith({ identityToken: 'refresh-123' });
    const before = reg.token!.requests.length;
    await roundTrip(reg.host, c, 'tok/idt');
    expect(reg.token!.requests.slice(before).every((r) => r.grant === 'refresh_token' && r.authorized)).toBe(true);
    await c.close();
  });

  it('gets a fresh token when the registry refuses an expired one', async () => {
    const c = clientWith(good);
    reg.token!.expireNext(1);
    const before = reg.token!.requests.length;
    await roundTrip(reg.host, c, 'tok/refresh');
    expect(reg.token!.requests.length - before).toBeGreaterThanOrEqual(3);
    await c.close();
  });

  it('refreshes a token that stops working mid-push, replaying the refused chunk and final PUT (streamed bodies)', async () => {
    // The proxy answers a PATCH and a PUT of the upload with the registry's own 401 challenge, as a registry
    // does when the token expires between two requests of one upload; the refused bodies never reach it.
    const front = await startFaultProxy(reg.host);
    const challenge = { 'www-authenticate': `Bearer realm="${reg.token!.realm}",service="${reg.token!.service}",scope="repository:tok/mid:pull,push"` };
    const upload = /\/blobs\/uploads\//;
    front.add({ method: 'PATCH', path: upload, fault: { kind: 'slow', delayMs: 1 }, times: 1 });
    front.add({ method: 'PATCH', path: upload, fault: { kind: 'status', status: 401, headers: challenge }, times: 1 });
    front.add({ method: 'PUT', path: upload, fault: { kind: 'status', status: 401, headers: challenge }, times: 1 });
    const c = clientWith(good);
    try {
      const src = new MemoryStore();
      const desc = await makeTestImage(src, { layers: [2_500_000, 5000] });
      const tokensBefore = reg.token!.requests.length;
      const pushed = await pushImage(src, desc, `${front.host}/tok/mid:1`, { client: c, monolithicMax: 1 << 20, chunkSize: 1 << 20 });
      expect(pushed.digest).toBe(desc.digest);
      const refused = front.log.filter((l) => l.status === 401 && upload.test(l.path));
      expect(refused.map((l) => l.method).sort()).toEqual(['PATCH', 'PUT']);
      // Each refused request was sent again with a fresh token and accepted.
      for (const r of refused) {
        const later = front.log.slice(front.log.indexOf(r) + 1).find((l) => l.method === r.method && l.path === r.path);
        expect(later?.status, `${r.method} replayed`).toBeLessThan(300);
      }
      expect(reg.token!.requests.length - tokensBefore).toBeGreaterThanOrEqual(2);
      // The registry holds exactly the pushed bytes.
      const got = await pullImage(`${reg.host}/tok/mid:1`, new MemoryStore(), { client: c });
      expect(got.descriptor.digest).toBe(desc.digest);
    } finally {
      await c.close();
      await front.stop();
    }
  });

  it('mounts across repositories with a token scoped to both', async () => {
    const c = clientWith(good);
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [30_000] });
    await pushImage(src, desc, `${reg.host}/tok/base:1`, { client: c });
    const before = reg.token!.requests.length;
    const events: string[] = [];
    await pushImage(src, desc, `${reg.host}/tok/derived:1`, { client: c, mountFrom: ['tok/base'], onProgress: (e) => events.push(e.type) });
    expect(events.filter((t) => t === 'blob-mounted')).toHaveLength(2);
    expect(reg.token!.requests.slice(before).some((r) => r.scope.includes('repository:tok/base:pull') && r.scope.includes('repository:tok/derived:pull,push'))).toBe(true);
    await c.close();
  });

  it('lets anonymous clients pull but not push', async () => {
    const anon = clientWith(undefined);
    const got = await pullImage(`${reg.host}/tok/app:1`, new MemoryStore(), { client: anon });
    expect(got.manifest.layers).toHaveLength(2);
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [10] });
    await expect(pushImage(src, desc, `${reg.host}/tok/anon:1`, { client: anon })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await anon.close();
  });

  it('reports a token server refusal clearly', async () => {
    const c = clientWith({ username: 'tester', password: 'nope-secret' });
    const err = await pullImage(`${reg.host}/tok/app:1`, new MemoryStore(), { client: c }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((err as Error).message).toMatch(/token server refused \(401\)/);
    expect(String(err)).not.toContain('nope-secret');
    await c.close();
  });
});
