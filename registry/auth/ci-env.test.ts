import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ciCredential, describeCiCredential, type CiCredentialSource } from './ci-env.js';
import { createCredentialResolver, resolveCredential } from './resolver.js';

const gitlab = { CI_REGISTRY: 'registry.gitlab.example:5050', CI_REGISTRY_USER: 'ci-user', CI_REGISTRY_PASSWORD: 'ci-pass', CI_JOB_TOKEN: 'job-tok' };
const github = { GITHUB_TOKEN: 'gh-tok', GITHUB_ACTOR: 'octocat' };

/** An env whose Docker config is an empty temp dir, so only CI variables can answer. */
function env(extra: Record<string, string>, config?: unknown): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'rbuild-ci-env-'));
  if (config) writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return { DOCKER_CONFIG: dir, HOME: dir, ...extra };
}

describe('ciCredential', () => {
  it('uses CI_REGISTRY_USER/PASSWORD for CI_REGISTRY only', () => {
    expect(ciCredential('registry.gitlab.example:5050', gitlab)).toEqual({
      credential: { username: 'ci-user', password: 'ci-pass' },
      source: { registry: 'registry.gitlab.example:5050', provider: 'gitlab', variables: ['CI_REGISTRY', 'CI_REGISTRY_USER', 'CI_REGISTRY_PASSWORD'] },
    });
    expect(ciCredential('other.example', gitlab)).toBeUndefined();
    expect(ciCredential('registry.gitlab.example', gitlab)).toBeUndefined();
  });
  it('falls back to CI_JOB_TOKEN as gitlab-ci-token', () => {
    const r = ciCredential('registry.gitlab.example:5050', { CI_REGISTRY: gitlab.CI_REGISTRY, CI_JOB_TOKEN: 'job-tok' });
    expect(r?.credential).toEqual({ username: 'gitlab-ci-token', password: 'job-tok' });
    expect(r?.source.variables).toEqual(['CI_REGISTRY', 'CI_JOB_TOKEN']);
  });
  it('uses GITHUB_TOKEN/GITHUB_ACTOR for ghcr.io only', () => {
    expect(ciCredential('ghcr.io', github)?.credential).toEqual({ username: 'octocat', password: 'gh-tok' });
    expect(ciCredential('docker.io', github)).toBeUndefined();
    expect(ciCredential('ghcr.io', { GITHUB_TOKEN: 'gh-tok' })).toBeUndefined();
  });
  it('gives nothing when the variables are absent or empty', () => {
    expect(ciCredential('registry.gitlab.example:5050', {})).toBeUndefined();
    expect(ciCredential('registry.gitlab.example:5050', { CI_REGISTRY: gitlab.CI_REGISTRY, CI_REGISTRY_USER: '', CI_REGISTRY_PASSWORD: '' })).toBeUndefined();
    expect(ciCredential('ghcr.io', { GITHUB_TOKEN: '', GITHUB_ACTOR: 'x' })).toBeUndefined();
  });
  it('describes the source by variable names, never values', () => {
    const line = describeCiCredential(ciCredential('registry.gitlab.example:5050', gitlab)!.source);
    expect(line).toBe('using GitLab CI credentials for registry.gitlab.example:5050 from CI_REGISTRY, CI_REGISTRY_USER, CI_REGISTRY_PASSWORD');
    expect(line).not.toMatch(/ci-pass|ci-user/);
    expect(describeCiCredential(ciCredential('ghcr.io', github)!.source)).not.toMatch(/gh-tok|octocat/);
  });
});

describe('the resolver falls back to CI variables', () => {
  it('uses them when Docker config has nothing, and says so', async () => {
    const told: CiCredentialSource[] = [];
    const got = await resolveCredential('registry.gitlab.example:5050', { env: env(gitlab), onCiCredential: (s) => told.push(s) });
    expect(got).toEqual({ username: 'ci-user', password: 'ci-pass' });
    expect(told.map((s) => s.provider)).toEqual(['gitlab']);
  });
  it('prefers saved credentials over CI variables', async () => {
    const told: CiCredentialSource[] = [];
    const e = env(gitlab, { auths: { 'registry.gitlab.example:5050': { auth: Buffer.from('saved:pw').toString('base64') } } });
    expect(await resolveCredential('registry.gitlab.example:5050', { env: e, onCiCredential: (s) => told.push(s) })).toEqual({ username: 'saved', password: 'pw' });
    expect(told).toEqual([]);
  });
  it('tells once per registry however often it is asked', async () => {
    const told: string[] = [];
    const resolve = createCredentialResolver({ env: env({ ...gitlab, ...github }), onCiCredential: (s) => told.push(s.registry) });
    for (const r of ['ghcr.io', 'registry.gitlab.example:5050', 'ghcr.io', 'registry.gitlab.example:5050']) await resolve(r);
    expect(await resolve('docker.io')).toBeUndefined();
    expect(told).toEqual(['ghcr.io', 'registry.gitlab.example:5050']);
  });
});
