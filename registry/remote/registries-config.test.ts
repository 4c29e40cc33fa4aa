import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRegistryClient } from './client.js';
import { MemoryStore } from './memory-store.js';
import { pullImage } from './pull.js';
import { pushImage } from './push.js';
import { loadRegistriesConfig, parseRegistriesConfig, registriesConfigPath } from './registries-config.js';
import { makeTestImage } from './test-image.js';

describe('registries config', () => {
  it('finds the file under XDG_CONFIG_HOME or ~/.config', () => {
    expect(registriesConfigPath({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/x/rbuild/registries.json');
    expect(registriesConfigPath({ HOME: '/h' })).toBe('/h/.config/rbuild/registries.json');
  });
  it('parses mirrors and insecure hosts, refusing unknown keys and bad hosts', () => {
    expect(parseRegistriesConfig({ mirrors: { 'index.docker.io': ['127.0.0.1:5000'] }, insecure: ['reg.lan:5000'] })).toEqual({
      mirrors: { 'docker.io': ['127.0.0.1:5000'] },
      insecure: ['reg.lan:5000'],
    });
    expect(() => parseRegistriesConfig({ mirror: {} })).toThrow(/unknown key "mirror"/);
    expect(() => parseRegistriesConfig({ mirrors: { 'docker.io': 'x' } })).toThrow(/mirrors.docker.io/);
    expect(() => parseRegistriesConfig({ insecure: ['http://x'] })).toThrow(/insecure/);
  });
  it('treats a missing default file as empty but a missing named file as an error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rbuild-rc-'));
    expect(await loadRegistriesConfig({ env: { XDG_CONFIG_HOME: dir } })).toEqual({ mirrors: {}, insecure: [] });
    await expect(loadRegistriesConfig({ path: join(dir, 'nope.json') })).rejects.toMatchObject({ code: 'REGISTRIES_CONFIG' });
    writeFileSync(join(dir, 'bad.json'), '{');
    await expect(loadRegistriesConfig({ path: join(dir, 'bad.json') })).rejects.toThrow(/not valid JSON/);
  });
});

describe('Docker Hub mirror (real registry)', () => {
  const registry = inject('registry');
  const direct = createRegistryClient();
  afterAll(() => direct.close());

  it('pulls a short Docker Hub name from the mirror and names it docker.io/library/...', async () => {
    const src = new MemoryStore();
    const desc = await makeTestImage(src, { layers: [5000] });
    await pushImage(src, desc, `${registry}/library/rbuild-mirror-test:latest`, { client: direct });
    const dir = mkdtempSync(join(tmpdir(), 'rbuild-rc-'));
    writeFileSync(join(dir, 'registries.json'), JSON.stringify({ mirrors: { 'docker.io': [registry] } }));
    const cfg = await loadRegistriesConfig({ path: join(dir, 'registries.json') });
    const client = createRegistryClient({ mirrors: cfg.mirrors, insecure: cfg.insecure });
    try {
      const dst = new MemoryStore();
      const got = await pullImage('rbuild-mirror-test', dst, { client });
      expect(got.name).toBe('docker.io/library/rbuild-mirror-test:latest');
      expect(got.descriptor.digest).toBe(desc.digest);
      expect(await dst.resolve('docker.io/library/rbuild-mirror-test:latest')).toMatchObject({ digest: desc.digest });
    } finally {
      await client.close();
    }
  });
});
