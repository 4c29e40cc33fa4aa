import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configPath, DOCKER_HUB_KEY, keyToHost } from './docker-config.js';
import { removeCredential, resolveCredential, saveCredential } from './resolver.js';
import { writeCredentialHelper } from '../../test/support/credential-helper.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function configDir(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'rbuild-auth-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** A real executable credential helper holding a registry's and Docker Hub's credentials. */
function fakeHelper(name: string): { binDir: string; store: string } {
  const binDir = mkdtempSync(join(tmpdir(), 'rbuild-helper-'));
  const { secrets } = writeCredentialHelper(binDir, name, {
    'reg.example:5000': { Username: 'helperuser', Secret: 'helper-secret' }, [DOCKER_HUB_KEY]: { Username: '<token>', Secret: 'refresh-tok' },
  });
  return { binDir, store: secrets };
}

describe('config path', () => {
  it('prefers REGISTRY_AUTH_FILE, then DOCKER_CONFIG, then ~/.docker', () => {
    expect(configPath({ REGISTRY_AUTH_FILE: '/a.json', DOCKER_CONFIG: '/d', HOME: '/h' })).toBe('/a.json');
    expect(configPath({ DOCKER_CONFIG: '/d', HOME: '/h' })).toBe('/d/config.json');
    expect(configPath({ HOME: '/h' })).toBe('/h/.docker/config.json');
  });
  it('reduces keys written as URLs to hosts', () => {
    expect(keyToHost('https://index.docker.io/v1/')).toBe('docker.io');
    expect(keyToHost('http://reg:5000/v2/')).toBe('reg:5000');
    expect(keyToHost('reg:5000')).toBe('reg:5000');
  });
});

describe('resolveCredential from auths', () => {
  const dir = configDir({
    auths: {
      [DOCKER_HUB_KEY]: { auth: b64('hubuser:hub:pw') },
      'https://reg.example:5000/v2/': { username: 'u', password: 'p' },
      'tok.example': { auth: b64('<token>:'), identitytoken: 'idt' },
      'empty.example': {},
    },
  });
  const env = { DOCKER_CONFIG: dir };
  it('decodes auth (passwords may contain colons) under the Docker Hub key quirk', async () => {
    expect(await resolveCredential('docker.io', { env })).toEqual({ username: 'hubuser', password: 'hub:pw' });
  });
  it('matches keys written as URLs, username+password entries', async () => {
    expect(await resolveCredential('reg.example:5000', { env })).toEqual({ username: 'u', password: 'p' });
  });
  it('returns identity tokens', async () => {
    expect(await resolveCredential('tok.example', { env })).toMatchObject({ identityToken: 'idt' });
  });
  it('is anonymous for unknown registries, empty entries and a missing file', async () => {
    expect(await resolveCredential('other.example', { env })).toBeUndefined();
    expect(await resolveCredential('empty.example', { env })).toBeUndefined();
    expect(await resolveCredential('docker.io', { env: { DOCKER_CONFIG: '/nonexistent' } })).toBeUndefined();
  });
  it('rejects a malformed file clearly', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'rbuild-auth-'));
    writeFileSync(join(bad, 'config.json'), '{nope');
    await expect(resolveCredential('docker.io', { env: { DOCKER_CONFIG: bad } })).rejects.toMatchObject({ code: 'AUTH_CONFIG' });
  });
});

describe('credential helpers (a real helper executable on PATH)', () => {
  it('uses credHelpers per registry and credsStore otherwise, like docker', async () => {
    const { binDir } = fakeHelper('rbtest');
    const dir = configDir({ credsStore: 'rbtest', credHelpers: { 'other.example': 'missing-helper' } });
    const env = { DOCKER_CONFIG: dir };
    const PATH = process.env.PATH;
    process.env.PATH = `${binDir}:${PATH}`;
    try {
      expect(await resolveCredential('reg.example:5000', { env })).toEqual({ username: 'helperuser', password: 'helper-secret' });
      expect(await resolveCredential('docker.io', { env })).toEqual({ identityToken: 'refresh-tok' });
      expect(await resolveCredential('nothing.example', { env })).toBeUndefined();
      await expect(resolveCredential('other.example', { env })).rejects.toMatchObject({ code: 'CREDENTIAL_HELPER', message: expect.stringContaining('not found on PATH') });
      // login/logout through the helper
      await saveCredential('new.example', 'nu', 'npw', { env });
      expect(await resolveCredential('new.example', { env })).toEqual({ username: 'nu', password: 'npw' });
      expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).auths['new.example']).toEqual({});
      expect(await removeCredential('new.example', { env })).toBe(true);
      expect(await resolveCredential('new.example', { env })).toBeUndefined();
    } finally {
      process.env.PATH = PATH;
    }
  });
});

describe('saveCredential / removeCredential without a helper', () => {
  it('writes auths like docker login (0600, other keys kept) and removes them', async () => {
    const dir = configDir({ auths: {}, HttpHeaders: { 'X-Keep': '1' } });
    const env = { DOCKER_CONFIG: dir };
    await saveCredential('docker.io', 'me', 'pw', { env });
    const file = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(file, 'utf8'));
    expect(cfg.auths[DOCKER_HUB_KEY]).toEqual({ auth: b64('me:pw') });
    expect(cfg.HttpHeaders).toEqual({ 'X-Keep': '1' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await removeCredential('docker.io', { env })).toBe(true);
    expect(await removeCredential('docker.io', { env })).toBe(false);
    expect(JSON.parse(readFileSync(file, 'utf8')).auths).toEqual({});
  });
  it('creates the directory and file when absent', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'rbuild-auth-')), 'nested');
    await saveCredential('127.0.0.1:5000', 'a', 'b', { env: { DOCKER_CONFIG: dir } });
    expect(existsSync(join(dir, 'config.json'))).toBe(true);
  });
});
