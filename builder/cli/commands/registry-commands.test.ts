import { execFileSync } from 'node:child_process';
import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeCredentialHelper } from '../../../test/support/credential-helper.js';
import { startFaultProxy } from '../../../test/support/fault-proxy.js';
import { startTestRegistry, TEST_USERS, type TestRegistry } from '../../../test/support/registry-server.js';
import { mkdirFor, runAs, tempDirFor, TEST_USER, userInfo } from '../../../test/support/unprivileged.js';

// The built CLI, run as the unprivileged test user against the real registry.
const registry = inject('registry');
const main = join(inject('appDir'), 'dist/builder/cli/main.js');
const rbuild = (args: string[], opts: { env?: Record<string, string>; input?: string } = {}) =>
  runAs(TEST_USER, ['node', main, ...args], opts);

describe('rbuild pull / push / login / logout', () => {
  let dir: string;
  let reg: TestRegistry;
  beforeAll(async () => {
    dir = tempDirFor(TEST_USER);
    reg = await startTestRegistry({ auth: 'basic' });
  });
  afterAll(() => reg.stop());

  it('pulls into the store, then finds the blobs already there', async () => {
    const root = join(dir, 'store');
    const first = await rbuild(['pull', '--root', root, `${registry}/library/busybox:latest`]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(`${registry}/library/busybox:latest`);
    expect(first.stderr).toMatch(/^pull [0-9a-f]{12}: done /m);
    const index = JSON.parse(readFileSync(join(root, 'oci', 'index.json'), 'utf8')) as { manifests: unknown[] };
    expect(index.manifests).toHaveLength(1);
    const again = await rbuild(['pull', '--root', root, `${registry}/library/busybox:latest`]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^pull [0-9a-f]{12}: exists$/m);
    expect(again.stderr).not.toMatch(/: (start|done) /);
  });

  it('--platform on a single-platform image of another platform warns', async () => {
    const res = await rbuild(['pull', '--root', join(dir, 'plat-store'), '--platform', 'linux/s390x', `${registry}/library/busybox:latest`]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/^WARNING: image platform \(linux\/[a-z0-9]+\) does not match the requested platform \(linux\/s390x\)$/m);
    const same = await rbuild(['pull', '--root', join(dir, 'plat-store'), '--platform', `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`, `${registry}/library/busybox:latest`]);
    expect(same.stderr).not.toMatch(/WARNING/);
  });

  it('pushes from the store; skopeo sees the same digest', async () => {
    const root = join(dir, 'store');
    const res = await rbuild(['push', '--root', root, `${registry}/library/busybox:latest`, `${registry}/cli/pushed:1`]);
    expect(res.code, res.stderr).toBe(0);
    const digest = res.stdout.trim().split('@')[1];
    const info = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry}/cli/pushed:1`], { encoding: 'utf8' })) as { Digest: string };
    expect(info.Digest).toBe(digest);
  });

  it('pulls `busybox` through a Docker Hub mirror named in the registries config', async () => {
    const config = join(dir, 'registries.json');
    writeFileSync(config, JSON.stringify({ mirrors: { 'docker.io': [registry] } }));
    const res = await rbuild(['pull', '--root', join(dir, 'mirror-store'), '--registries-config', config, 'busybox']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe('docker.io/library/busybox:latest');
  });

  it('logs in with --password-stdin (checked against the registry), pushes privately, logs out', async () => {
    const env = { DOCKER_CONFIG: join(dir, 'docker') };
    const bad = await rbuild(['login', reg.host, '-u', 'tester', '--password-stdin'], { env, input: 'not-it\n' });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^error: logging in to 127\.0\.0\.1:\d+: 401 Unauthorized/m);
    expect(bad.stderr).toMatch(/^hint: check your credentials/m);
    expect(bad.stderr).not.toContain('not-it');

    const ok = await rbuild(['login', reg.host, '-u', 'tester', '--password-stdin'], { env, input: `${TEST_USERS.tester}\n` });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('Login Succeeded\n');
    const saved = JSON.parse(readFileSync(join(dir, 'docker', 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(saved.auths[reg.host]!.auth, 'base64').toString()).toBe(`tester:${TEST_USERS.tester}`);

    const root = join(dir, 'store');
    const push = await rbuild(['push', '--root', root, `${registry}/library/busybox:latest`, `${reg.host}/private/bb:1`], { env });
    expect(push.code, push.stderr).toBe(0);

    const out = await rbuild(['logout', reg.host], { env });
    expect(out.stdout).toBe(`Removing login credentials for ${reg.host}\n`);
    const denied = await rbuild(['pull', '--root', join(dir, 's2'), `${reg.host}/private/bb:1`], { env });
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/401 Unauthorized/);
  });

  it('logs in, pushes, pulls and logs out through a credential helper (credsStore), keeping the secret out of config.json', async () => {
    // A real `docker-credential-rbtest` executable on the test user's PATH, keeping secrets in its own file.
    const bin = mkdirFor(TEST_USER, join(dir, 'helper-bin'));
    const { secrets } = writeCredentialHelper(bin, 'rbtest');
    const dockerDir = mkdirFor(TEST_USER, join(dir, 'docker-helper'));
    writeFileSync(join(dockerDir, 'config.json'), JSON.stringify({ credsStore: 'rbtest' }));
    chownSync(join(dockerDir, 'config.json'), userInfo(TEST_USER).uid, userInfo(TEST_USER).gid);
    const env = { DOCKER_CONFIG: dockerDir, PATH: `${bin}:/usr/local/bin:/usr/bin:/bin` };

    const login = await rbuild(['login', reg.host, '-u', 'tester', '--password-stdin'], { env, input: `${TEST_USERS.tester}\n` });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('Credentials saved in docker-credential-rbtest');
    expect(readFileSync(join(dockerDir, 'config.json'), 'utf8')).not.toContain(Buffer.from(`tester:${TEST_USERS.tester}`).toString('base64'));
    expect(JSON.parse(readFileSync(secrets, 'utf8'))[reg.host]).toEqual({ Username: 'tester', Secret: TEST_USERS.tester });

    const push = await rbuild(['push', '--root', join(dir, 'store'), `${registry}/library/busybox:latest`, `${reg.host}/helper/bb:1`], { env });
    expect(push.code, push.stderr).toBe(0);
    const pull = await rbuild(['pull', '--root', join(dir, 'helper-store'), `${reg.host}/helper/bb:1`], { env });
    expect(pull.code, pull.stderr).toBe(0);

    const out = await rbuild(['logout', reg.host], { env });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(readFileSync(secrets, 'utf8'))).toEqual({});
    const denied = await rbuild(['pull', '--root', join(dir, 'helper-store2'), `${reg.host}/helper/bb:1`], { env });
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/401 Unauthorized/);
  });

  it('--debug shows retries and never the credentials', async () => {
    const proxy = await startFaultProxy(reg.host, [{ method: 'GET', path: /\/manifests\//, fault: { kind: 'status', status: 503 }, times: 1 }]);
    try {
      const env = { DOCKER_CONFIG: join(dir, 'docker-debug') };
      const login = await rbuild(['login', proxy.host, '-u', 'tester', '--password-stdin'], { env, input: TEST_USERS.tester });
      expect(login.code, login.stderr).toBe(0);
      const root = join(dir, 'store');
      const push = await rbuild(['push', '--root', root, `${registry}/library/busybox:latest`, `${proxy.host}/debug/bb:1`], { env });
      expect(push.code, push.stderr).toBe(0);
      const pull = await rbuild(['pull', '--debug', '--root', join(dir, 's3'), `${proxy.host}/debug/bb:1`], { env });
      expect(pull.code, pull.stderr).toBe(0);
      expect(pull.stderr).toMatch(/debug: retry 1 of 127\.0\.0\.1:\d+\/v2\/debug\/bb\/manifests\/1 after 503/);
      expect(pull.stderr + pull.stdout).not.toContain(TEST_USERS.tester);
      expect(pull.stderr + pull.stdout).not.toContain(Buffer.from(`tester:${TEST_USERS.tester}`).toString('base64'));
    } finally {
      await proxy.stop();
    }
  });

  it('rejects a bad reference naming the rule', async () => {
    const res = await rbuild(['pull', '--root', join(dir, 'store'), 'Not/Valid']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/invalid reference "Not\/Valid": repository name must be lowercase/);
  });
});

/** The machine's first non-loopback IPv4 address (the test needs one: a registry reached there is not loopback). */
function outsideAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('no non-loopback IPv4 address on this machine');
}

describe('a plain-HTTP registry that is not on loopback', () => {
  let dir: string;
  let fwd: Server;
  let host: string;
  beforeAll(async () => {
    dir = tempDirFor(TEST_USER);
    // The real registry, reached through a TCP forwarder on a non-loopback address.
    const [rh, rp] = [registry.slice(0, registry.lastIndexOf(':')), Number(registry.slice(registry.lastIndexOf(':') + 1))];
    fwd = createServer((c) => {
      const up = connect(rp, rh);
      c.pipe(up).pipe(c);
      up.on('error', () => c.destroy());
      c.on('error', () => up.destroy());
    });
    const ip = outsideAddress();
    await new Promise<void>((r) => fwd.listen(0, ip, r));
    host = `${ip}:${(fwd.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => fwd.close(() => r())));

  it('is reached over HTTPS unless named insecure, with one clear error line and the fix', async () => {
    const ref = `${host}/library/busybox:latest`;
    const refused = await rbuild(['pull', '--root', join(dir, 's0'), ref]);
    expect(refused.code).toBe(3);
    expect(refused.stderr.split('\n').filter(Boolean)).toEqual([
      `pulling ${ref}`,
      expect.stringMatching(new RegExp(`^error: pulling ${ref}: ERR_SSL_WRONG_VERSION_NUMBER: wrong version number from ${host}`)),
      `hint: ${host} may speak plain HTTP: mark it insecure (--tls-verify=false or the registries config)`,
    ]);
    for (const flags of [['--tls-verify=false'], ['--insecure-registry', host]]) {
      const ok = await rbuild(['pull', '--root', join(dir, 's1'), ...flags, ref]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout.trim()).toBe(ref);
    }
    const config = join(dir, 'registries.json');
    writeFileSync(config, JSON.stringify({ insecure: [host] }));
    const viaConfig = await rbuild(['pull', '--root', join(dir, 's2'), '--registries-config', config, ref]);
    expect(viaConfig.code, viaConfig.stderr).toBe(0);
  });

  it('build takes --insecure-registry and --registries-config too', async () => {
    const ctx = mkdirFor(TEST_USER, join(dir, 'ctx'));
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${host}/library/busybox:latest\nRUN true\n`);
    chownSync(join(ctx, 'Dockerfile'), userInfo(TEST_USER).uid, userInfo(TEST_USER).gid);
    const refused = await rbuild(['build', '--root', join(dir, 'b0'), '--progress=quiet', ctx]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/may speak plain HTTP/);
    const ok = await rbuild(['build', '--root', join(dir, 'b1'), '--progress=quiet', '--insecure-registry', host, ctx]);
    expect(ok.code, ok.stderr).toBe(0);
    const config = join(dir, 'build-registries.json');
    writeFileSync(config, JSON.stringify({ insecure: [host] }));
    const viaConfig = await rbuild(['build', '--root', join(dir, 'b2'), '--progress=quiet', '--registries-config', config, ctx]);
    expect(viaConfig.code, viaConfig.stderr).toBe(0);
  });
});
