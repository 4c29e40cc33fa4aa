/**
 * The product, end to end: an unprivileged user builds with rbuild, pushes to
 * the real registry, and independent tools (skopeo, umoci) read the result.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../support/unprivileged.js';
import { buildDirs, busybox, events, processesUsing, rbuild, registry, startedKinds, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('rbuild build as an unprivileged user', () => {
  let work: string;
  let store: string;
  let ctx: string;
  beforeAll(() => {
    ({ work, store, ctx } = buildDirs('rbuild-e2e-'));
    writeContext(ctx, {
      Dockerfile: [
        `FROM ${busybox()}`,
        'ENV GREETING=hello',
        'WORKDIR /app',
        'COPY hello.txt ./',
        'RUN echo "$GREETING from $(id -u)" > /app/out.txt && chown 1000:1000 /app/out.txt && rm -f /etc/hostname && rm -rf /home',
        'USER 1000',
        'CMD ["cat", "/app/out.txt"]',
        '',
      ].join('\n'),
      'hello.txt': 'hi\n',
      '.dockerignore': 'ignored.txt\n',
      'ignored.txt': 'secret',
    });
  });

  it('builds, pushes, and skopeo + umoci read the image', async () => {
    const ref = `${registry()}/e2e/simple:1`;
    const r = await rbuild(['build', '-t', ref, '--root', store, '--progress=plain', '--push', ctx]);
    expect(r.stderr + r.stdout).not.toMatch(/Error|error:/);
    expect(r.code).toBe(0);
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' }));
    expect(inspect.Layers.length).toBe(4); // busybox, WORKDIR /app, COPY, RUN
    // skopeo and umoci run as root here: their output goes outside the test user's directory.
    const readBack = tempDir('rbuild-readback-');
    const oci = join(readBack, 'oci-out');
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}:x`]);
    const bundle = join(readBack, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${oci}:x`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    expect(readFileSync(join(rootfs, 'app/out.txt'), 'utf8')).toBe('hello from 0\n');
    expect(readFileSync(join(rootfs, 'app/hello.txt'), 'utf8')).toBe('hi\n');
    expect(existsSync(join(rootfs, 'etc/hostname'))).toBe(false);
    expect(existsSync(join(rootfs, 'home'))).toBe(false);
    expect(existsSync(join(rootfs, 'bin/busybox'))).toBe(true);
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    expect(config.process.args).toEqual(['cat', '/app/out.txt']);
    expect(config.process.user.uid).toBe(1000);
  });

  it('a second identical build runs no step', async () => {
    const r = await rbuild(['build', '-t', 'e2e/simple:2', '--root', store, '--progress=json', ctx]);
    expect(r.code).toBe(0);
    const ev = events(r.stderr);
    expect(ev.filter((e) => e.type === 'step-start')).toEqual([]);
    expect(ev.filter((e) => e.type === 'step-cached').length).toBeGreaterThanOrEqual(5);
  });

  it('the same build again, same tag, writes nothing to the index and does not enter the namespace', async () => {
    const index = join(store, 'oci', 'index.json');
    const before = statSync(index).ino;
    const r = await rbuild(['build', '-t', 'e2e/simple:2', '--root', store, '--progress=json', ctx]);
    expect(r.code).toBe(0);
    const ev = events(r.stderr);
    expect(ev.filter((e) => e.type === 'step-start')).toEqual([]);
    // index.json is replaced by rename whenever it is written: the same inode means it was not.
    expect(statSync(index).ino).toBe(before);
    // Only a process inside the build namespace announces its isolation.
    expect(ev.filter((e) => e.type === 'info' && String(e.message).startsWith('isolation:'))).toEqual([]);
  });

  it('changing one context file reruns only from the step that reads it', async () => {
    writeContext(ctx, { 'hello.txt': 'changed\n' });
    const r = await rbuild(['build', '-t', 'e2e/simple:3', '--root', store, '--progress=json', ctx]);
    expect(r.code).toBe(0);
    expect(startedKinds(r.stderr)).toEqual(['COPY', 'RUN', 'USER', 'CMD']);
  });

  it('leaves no root-owned file, no mount and no process behind', async () => {
    const rootOwned = execFileSync('find', [work, '-uid', '0'], { encoding: 'utf8' }).trim();
    expect(rootOwned).toBe('');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.toContain(work);
    // Other test files may run as the same user at the same time: look for processes tied to this build.
    expect(processesUsing(work)).toEqual([]);
  });

  it('a broken Dockerfile names file, line and column', async () => {
    const bad = join(work, 'bad');
    writeContext(bad, { Dockerfile: 'FROM scratch\nRUNN echo hi\n' });
    const r = await rbuild(['build', '--root', store, bad]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Dockerfile:2:1/);
    expect(r.stderr).toMatch(/RUN/);
  });

  it('a failed RUN reports the command and its exit code', async () => {
    const bad = join(work, 'failrun');
    writeContext(bad, { Dockerfile: `FROM ${busybox()}\nRUN echo about to fail && exit 3\n` });
    const r = await rbuild(['build', '--root', store, '--progress=plain', bad]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/exit(ed with)? code 3/);
    expect(r.stderr).toMatch(/about to fail/);
  });

  it('a missing context is one clear line', async () => {
    const r = await rbuild(['build', '--root', store, join(work, 'nope')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/context/);
  });
});
