/**
 * A GitLab-style job against the real registry with htpasswd auth: no Docker
 * config at all, only CI_REGISTRY* variables, and the unprivileged user's
 * `rbuild build --push` gets in and says which variables it used.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, TEST_USERS, type TestRegistry } from '../support/registry-server.js';
import { tempDirFor, TEST_USER, removeTempDirs } from '../support/unprivileged.js';
import { rbuild, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('CI credentials from GitLab variables', () => {
  let reg: TestRegistry;
  let work: string;
  beforeAll(async () => {
    reg = await startTestRegistry({ auth: 'basic' });
    work = tempDirFor(TEST_USER, 'rbuild-ci-cred-');
    writeContext(join(work, 'ctx'), { Dockerfile: 'FROM scratch\nCOPY hello.txt /\n', 'hello.txt': 'hi from CI\n' });
  });
  afterAll(async () => reg?.stop());

  const build = (ref: string, env: Record<string, string>) =>
    rbuild(['build', '-t', ref, '--root', join(work, 'store'), '--progress=plain', '--push', join(work, 'ctx')], {
      // An empty DOCKER_CONFIG: no saved credentials anywhere.
      env: { DOCKER_CONFIG: join(work, 'no-docker-config'), ...env },
    });

  it('pushes with only CI_REGISTRY, CI_REGISTRY_USER and CI_REGISTRY_PASSWORD set', async () => {
    const [user, password] = Object.entries(TEST_USERS)[0]!;
    const ref = `${reg.host}/ci/app:1`;
    const r = await build(ref, { CI_REGISTRY: reg.host, CI_REGISTRY_USER: user, CI_REGISTRY_PASSWORD: password });
    expect(r.stderr + r.stdout, reg.log()).not.toMatch(/error:/);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`using GitLab CI credentials for ${reg.host} from CI_REGISTRY, CI_REGISTRY_USER, CI_REGISTRY_PASSWORD`);
    expect(r.stderr + r.stdout).not.toContain(password);
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `--creds=${user}:${password}`, `docker://${ref}`], { encoding: 'utf8' }));
    expect(inspect.Layers).toHaveLength(1);
  });

  it('is refused without them (the registry really wants auth)', async () => {
    const r = await build(`${reg.host}/ci/app:2`, {});
    expect(r.stderr).not.toContain('CI credentials');
    // A registry refusing credentials is infrastructure, not the Dockerfile's fault.
    expect(r.code).toBe(3);
  });
});
