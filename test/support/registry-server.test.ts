import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestRegistry, TEST_USERS } from './registry-server.js';

describe('startTestRegistry', () => {
  it('starts a no-auth registry that answers /v2/ and stops', async () => {
    const reg = await startTestRegistry();
    const res = await request(`http://${reg.host}/v2/`);
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    await reg.stop();
    await expect(request(`http://${reg.host}/v2/`)).rejects.toThrow();
  });

  it('basic mode asks for credentials and accepts the test user', async () => {
    const reg = await startTestRegistry({ auth: 'basic' });
    try {
      const anon = await request(`http://${reg.host}/v2/`);
      await anon.body.dump();
      expect(anon.statusCode).toBe(401);
      expect(String(anon.headers['www-authenticate'])).toMatch(/^Basic/);
      const auth = 'Basic ' + Buffer.from(`tester:${TEST_USERS.tester}`).toString('base64');
      const ok = await request(`http://${reg.host}/v2/`, { headers: { authorization: auth } });
      await ok.body.dump();
      expect(ok.statusCode).toBe(200);
    } finally {
      await reg.stop();
    }
  });

  it('token mode accepts a token from the test token server', async () => {
    const reg = await startTestRegistry({ auth: 'token' });
    try {
      const anon = await request(`http://${reg.host}/v2/`);
      await anon.body.dump();
      expect(anon.statusCode).toBe(401);
      expect(String(anon.headers['www-authenticate'])).toContain(reg.token!.realm);
      const auth = 'Basic ' + Buffer.from(`tester:${TEST_USERS.tester}`).toString('base64');
      const t = await request(`${reg.token!.realm}?service=${reg.token!.service}`, { headers: { authorization: auth } });
      const { token } = (await t.body.json()) as { token: string };
      const ok = await request(`http://${reg.host}/v2/`, { headers: { authorization: `Bearer ${token}` } });
      const text = await ok.body.text();
      expect(ok.statusCode, text + reg.log()).toBe(200);
    } finally {
      await reg.stop();
    }
  });
});
