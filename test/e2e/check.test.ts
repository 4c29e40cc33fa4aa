/**
 * `rbuild check` end to end: images built by rbuild as the unprivileged user
 * (each breaking rules), one pushed and checked from the registry, one made
 * elsewhere (GNU tar + setcap, imported from an OCI and a docker archive), and
 * the compliant Dockerfile of the rootless guide, which passes with no error.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ociImageFromTar } from '../support/oci-image-from-tar.js';
import { busybox, rbuild, registry } from './build-fixtures.js';
import { tempDirFor, TEST_USER, userInfo, removeTempDirs, tempDir } from '../support/unprivileged.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

const fixtures = new URL('../../testdata/check/', import.meta.url).pathname;

interface JsonFinding {
  ruleId: string;
  severity: string;
  message: string;
  location: { layer?: number; layerDigest?: string; path?: string; file?: string; line?: number };
  fromBase?: boolean;
  bytes?: number;
}
interface JsonReport {
  findings: JsonFinding[];
  layers: Array<{ index: number; digest: string; base: boolean }>;
  summary: Record<string, number>;
}

describe('rbuild check as an unprivileged user', () => {
  let work: string;
  let store: string;
  const ctx = (name: string) => join(work, name);

  /** Copies a fixture context for the test user, with the registry filled in. */
  function context(name: string): string {
    const dir = ctx(name);
    cpSync(join(fixtures, name), dir, { recursive: true });
    const df = join(dir, 'Dockerfile');
    writeFileSync(df, readFileSync(df, 'utf8').replaceAll('@REGISTRY@', registry()));
    const { uid, gid } = userInfo(TEST_USER);
    chownSync(dir, uid, gid);
    for (const f of readdirSync(dir)) chownSync(join(dir, f), uid, gid);
    return dir;
  }

  async function build(name: string, tag: string, extra: string[] = []): Promise<void> {
    const r = await rbuild(['build', '-t', tag, '--root', store, '--progress=plain', ...extra, context(name)]);
    expect(r.code, r.stderr).toBe(0);
  }

  async function check(args: string[]): Promise<{ code: number | null; report: JsonReport; stderr: string }> {
    const r = await rbuild(['check', '--root', store, '--format', 'json', ...args]);
    let report: JsonReport;
    try {
      report = JSON.parse(r.stdout) as JsonReport;
    } catch {
      throw new Error(`no JSON report (exit ${r.code}): ${r.stderr}`);
    }
    return { code: r.code, report, stderr: r.stderr };
  }

  const of = (rep: JsonReport, id: string) => rep.findings.filter((f) => f.ruleId === id);

  afterAll(() => rmSync(work, { recursive: true, force: true }));
  beforeAll(async () => {
    work = tempDirFor(TEST_USER, 'rbuild-check-e2e-');
    store = join(work, 'store');
    await build('bad', `${registry()}/e2e/check-bad:1`, ['--push']);
    await build('compliant', 'e2e/check-good:1');
    await build('workdir', 'e2e/check-workdir:1');
    await build('ghost', 'e2e/check-ghost:1');
  });

  it('finds each broken rule of the bad image at its layer, path and Dockerfile line', async () => {
    const { code, report } = await check([`${registry()}/e2e/check-bad:1`, '-f', join(ctx('bad'), 'Dockerfile')]);
    expect(code).toBe(1);
    // busybox is one layer; WORKDIR, COPY and three RUNs are this image's own.
    expect(report.layers.map((l) => l.base)).toEqual([true, false, false, false, false, false]);
    const line = (f: JsonFinding | undefined) => f?.location.line;
    expect(of(report, 'RB001').map(line)).toEqual([10]);
    expect(of(report, 'RB006').map((f) => [f.message, f.location.line])).toEqual([['EXPOSE 80/tcp: port 80 is below 1024', 9]]);
    expect(of(report, 'RB013').map(line)).toEqual([11]);
    expect(of(report, 'RB014').map((f) => f.severity)).toEqual(['info']);
    expect(of(report, 'RB010').map((f) => [f.message.split(':')[0], f.location.line])).toEqual([['ARG NPM_TOKEN', 2], ['ENV API_TOKEN is kept in the image config', 3]]);
    expect(of(report, 'RB011').map(line)).toEqual([1]);

    const secrets = of(report, 'RB009').map((f) => [f.location.path, f.location.layer, f.location.line, f.severity]);
    expect(secrets).toEqual(expect.arrayContaining([
      ['/app/id_rsa', 2, 5, 'error'],
      ['/app/.env', 2, 5, 'error'],
      ['/app/.npmrc', 2, 5, 'error'],
    ]));
    expect(secrets).toHaveLength(3);
    const key = of(report, 'RB009').find((f) => f.location.path === '/app/id_rsa')!;
    expect(key.message).toMatch(/private key in layer 3\/6 .*removed by layer 4\/6/);
    expect(key.location.layerDigest).toBe(report.layers[2]!.digest);

    expect(of(report, 'RB004').map((f) => [f.location.path, f.location.layer, f.location.line])).toEqual([['/app/shared', 4, 7]]);
    expect(of(report, 'RB005').map((f) => [f.location.path, f.location.layer, f.severity])).toEqual([['/data', 4, 'warn']]);
    expect(of(report, 'RB007').map((f) => [f.location.path, f.location.layer, f.location.line, f.severity])).toEqual([['/app/sbox', 4, 7, 'warn']]);
    const caches = of(report, 'RB015').map((f) => [f.location.path, f.bytes, f.location.line]);
    expect(caches).toEqual(expect.arrayContaining([['/var/lib/apt/lists', 100000, 8], ['/root/.npm', 5000, 8]]));
  });

  it('checks a registry reference (docker://) pulled into a temporary store, leaving the store alone', async () => {
    const images = async () => (await rbuild(['images', '--root', store])).stdout;
    const before = await images();
    const { report } = await check([`docker://${registry()}/e2e/check-bad:1`]);
    expect(await images()).toBe(before);
    expect(of(report, 'RB009').map((f) => f.location.path).sort()).toEqual(['/app/.env', '/app/.npmrc', '/app/id_rsa']);
    expect(of(report, 'RB001')).toHaveLength(1);
    // Without the Dockerfile the history tells which layers are rbuild's own.
    expect(report.layers.filter((l) => l.base)).toHaveLength(1);
    // --base names the base image in the store; --base-layers gives the count.
    const withBase = await check([`docker://${registry()}/e2e/check-bad:1`, '--base', `${busybox()}`]);
    expect(withBase.report.layers.map((l) => l.base)).toEqual([true, false, false, false, false, false]);
    const counted = await check([`docker://${registry()}/e2e/check-bad:1`, '--base-layers', '0']);
    expect(counted.report.layers.some((l) => l.base)).toBe(false);
  });

  it('RB003: a WORKDIR owned by root is not writable for USER 1000', async () => {
    const { report } = await check(['e2e/check-workdir:1', '-f', join(ctx('workdir'), 'Dockerfile')]);
    const f = of(report, 'RB003');
    expect(f).toHaveLength(1);
    expect(f[0]!.location).toMatchObject({ path: '/srv', line: 2, layer: 2 });
    expect(f[0]!.message).toMatch(/owned by 0:0 mode 0755: not writable for USER 1000/);
    expect(of(report, 'RB001')).toEqual([]);
  });

  it('RB002: a USER name missing from /etc/passwd', async () => {
    const { report, code } = await check(['e2e/check-ghost:1', '-f', join(ctx('ghost'), 'Dockerfile')]);
    expect(code).toBe(1);
    expect(of(report, 'RB002').map((f) => [f.message, f.location.line])).toEqual([["USER ghost: user not found in the image's /etc/passwd", 3]]);
  });

  it('the compliant Dockerfile of the rootless guide passes with no error', async () => {
    const { code, report } = await check(['e2e/check-good:1', '-f', join(ctx('compliant'), 'Dockerfile')]);
    expect(code).toBe(0);
    expect(report.summary.error).toBe(0);
    // Only the base not pinned by digest (a test registry tag) is left.
    expect(report.findings.map((f) => f.ruleId)).toEqual(['RB011']);
    const noDockerfile = await check(['e2e/check-good:1', '--fail-on', 'warn']);
    expect(noDockerfile.report.findings).toEqual([]);
    expect(noDockerfile.code).toBe(0);
  });

  it('--fail-on sets the exit code', async () => {
    expect((await check(['e2e/check-workdir:1', '--fail-on', 'error'])).code).toBe(0);
    expect((await check(['e2e/check-workdir:1', '--fail-on', 'warn'])).code).toBe(1);
    expect((await check([`${registry()}/e2e/check-bad:1`, '--fail-on', 'never'])).code).toBe(0);
  });

  it('the table names rule, place and fix; SARIF points at the Dockerfile lines', async () => {
    const df = join(ctx('bad'), 'Dockerfile');
    const t = await rbuild(['check', '--root', store, `${registry()}/e2e/check-bad:1`, '-f', df]);
    expect(t.stdout).toMatch(/error\s+RB001\s+\S*Dockerfile:10: the image runs as root: USER is root/);
    expect(t.stdout).toMatch(/fix: Add a non-root user/);
    expect(t.stderr).toMatch(/checked in \d+\.\d\d s/);
    const s = await rbuild(['check', '--root', store, `${registry()}/e2e/check-bad:1`, '-f', df, '--format', 'sarif']);
    const sarif = JSON.parse(s.stdout);
    expect(sarif.version).toBe('2.1.0');
    const r001 = sarif.runs[0].results.find((r: { ruleId: string }) => r.ruleId === 'RB001');
    expect(r001.locations[0].physicalLocation.region.startLine).toBe(10);
  });

  it('RB012 from the Dockerfile alone', async () => {
    const r = await rbuild(['check', '-f', join(fixtures, 'add-url.Dockerfile'), '--format', 'json']);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.findings.map((f) => [f.ruleId, f.location.line])).toEqual([['RB012', 2]]);
    expect(r.code).toBe(0);
  });

  it('RB012 on a built image: ADD of a URL without --checksum is found from the history', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => res.end('#!/bin/sh\necho downloaded\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as import('node:net').AddressInfo).port;
      const dir = ctx('add-url-built');
      mkdirSync(dir);
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${busybox()}\nADD http://127.0.0.1:${port}/tool.sh /opt/tool.sh\n`);
      const { uid, gid } = userInfo(TEST_USER);
      chownSync(dir, uid, gid);
      chownSync(join(dir, 'Dockerfile'), uid, gid);
      const r = await rbuild(['build', '-t', 'e2e/check-add-url:1', '--root', store, '--progress=plain', dir]);
      expect(r.code, r.stderr).toBe(0);
      const { report } = await check(['e2e/check-add-url:1']);
      expect(of(report, 'RB012').map((f) => [f.location.layer, f.message.includes(`127.0.0.1:${port}/tool.sh`)])).toEqual([[1, true]]);
    } finally {
      server.close();
    }
  });

  describe('an image made elsewhere (GNU tar with xattrs + setcap), from archives', () => {
    let ociArchive: string;
    let dockerArchive: string;
    let dir: string;
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    beforeAll(async () => {
      // Fixtures are made as root outside the test user's directory, then made readable.
      dir = tempDir('rbuild-check-fixture-');
      const rootfs = join(dir, 'rootfs');
      mkdirSync(join(rootfs, 'usr/bin'), { recursive: true });
      mkdirSync(join(rootfs, 'etc'), { recursive: true });
      writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
      writeFileSync(join(rootfs, 'usr/bin/pinger'), 'not really a binary\n', { mode: 0o755 });
      execFileSync('setcap', ['cap_net_raw+ep', join(rootfs, 'usr/bin/pinger')]);
      writeFileSync(join(rootfs, 'usr/bin/sudoish'), 'x\n', { mode: 0o755 });
      execFileSync('chmod', ['4755', join(rootfs, 'usr/bin/sudoish')]);
      const tar = join(dir, 'rootfs.tar');
      execFileSync('tar', ['--xattrs', '--xattrs-include=security.capability', '--format=pax', '-C', rootfs, '-cf', tar, '.']);
      const layout = join(dir, 'layout');
      await ociImageFromTar(tar, layout, { tag: 'caps' });
      ociArchive = join(dir, 'caps-oci.tar');
      execFileSync('tar', ['-C', layout, '-cf', ociArchive, '.']);
      dockerArchive = join(dir, 'caps-docker.tar');
      execFileSync('skopeo', ['copy', '--quiet', `oci:${layout}:caps`, `docker-archive:${dockerArchive}:e2e/caps:1`]);
      execFileSync('chmod', ['-R', 'a+rX', dir]);
    });

    it('finds file capabilities and setuid files in an oci-archive and a docker-archive', async () => {
      for (const ref of [`oci-archive:${ociArchive}`, `docker-archive:${dockerArchive}`]) {
        const { report } = await check([ref]);
        expect(of(report, 'RB008').map((f) => [f.location.path, f.location.layer, f.severity]), ref).toEqual([['/usr/bin/pinger', 0, 'warn']]);
        expect(of(report, 'RB007').map((f) => f.location.path), ref).toEqual(['/usr/bin/sudoish']);
      }
    });
  });
});
