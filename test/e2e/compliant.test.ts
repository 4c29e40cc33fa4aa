/**
 * Acceptance 1 of the build issue: the rootless-containers guide's compliant
 * Dockerfile, unchanged (`FROM debian:bullseye-slim`), built by an unprivileged
 * user. The base is a debootstrap root pushed to the test registry and reached
 * as a Docker Hub mirror through rbuild's registries config.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CACHE_DIR, debianRootfsTar } from '../support/base-images.js';
import { ociImageFromTar, pushLayoutToRegistry } from '../support/oci-image-from-tar.js';
import { tempDirFor, TEST_USER, removeTempDirs, tempDir } from '../support/unprivileged.js';
import { rbuild, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('the compliant Dockerfile of the rootless-containers guide', () => {
  let work: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    const registry = inject('registry');
    // The gzipped layout is cached beside the root tarball: compressing 200 MB is the slow part.
    const layout = join(CACHE_DIR, 'debian-oci-v1');
    if (!existsSync(join(layout, 'index.json'))) {
      const tmp = mkdtempSync(join(CACHE_DIR, 'debian-oci-'));
      await ociImageFromTar(debianRootfsTar(), tmp, { cmd: ['bash'], level: 1 });
      renameSync(tmp, layout);
    }
    await pushLayoutToRegistry(layout, `${registry}/library/debian:bullseye-slim`);
    work = tempDirFor(TEST_USER, 'rbuild-compliant-');
    const config = join(work, 'config');
    writeContext(config, { 'rbuild/registries.json': JSON.stringify({ mirrors: { 'docker.io': [registry] } }) });
    env = { XDG_CONFIG_HOME: config };
    writeContext(join(work, 'ctx'), {
      Dockerfile: [
      'FROM debian:bullseye-slim',
      'RUN groupadd -g 1001 appgroup && useradd -u 1001 -g appgroup -m -s /bin/sh appuser',
      'USER 1001',
      'WORKDIR /app',
      'COPY --chown=1001:1001 . .',
      'RUN mkdir -p /app/data && chmod -R 700 /app/data',
      'ENTRYPOINT ["./entrypoint.sh"]',
      'EXPOSE 8080',
      'CMD ["./app"]',
      '',
      ].join('\n'),
      'entrypoint.sh': { data: '#!/bin/sh\necho "entrypoint as $(id -u):$(id -g)"\nexec "$@"\n', mode: 0o755 },
      app: { data: '#!/bin/sh\necho app running\n', mode: 0o755 },
    });
  }, 600_000);

  it('builds rootless, pushes, and the image runs as uid 1001 with its files 1001:1001', async () => {
    const registry = inject('registry');
    const ref = `${registry}/e2e/compliant:1`;
    const store = join(work, 'store');
    const r = await rbuild(['build', '-t', ref, '--push', '--root', store, '--progress=plain', join(work, 'ctx')], { env });
    expect(r.stderr).not.toMatch(/^error/m);
    expect(r.code).toBe(0);

    // Read back with independent tools, as root, outside the test user's directory.
    const out = tempDir('rbuild-compliant-readback-');
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${out}/oci:x`]);
    execFileSync('umoci', ['unpack', '--image', `${out}/oci:x`, `${out}/bundle`]);
    const rootfs = join(out, 'bundle/rootfs');
    const st = (p: string) => statSync(join(rootfs, p));
    expect([st('app/data').uid, st('app/data').gid, st('app/data').mode & 0o777]).toEqual([1001, 1001, 0o700]);
    expect([st('app/entrypoint.sh').uid, st('app/entrypoint.sh').gid]).toEqual([1001, 1001]);
    expect(readFileSync(join(rootfs, 'etc/passwd'), 'utf8')).toMatch(/^appuser:x:1001:1001:/m);
    const config = JSON.parse(readFileSync(join(out, 'bundle/config.json'), 'utf8'));
    expect(config.process.user.uid).toBe(1001);
    expect(config.process.args).toEqual(['./entrypoint.sh', './app']);
    expect(config.process.cwd).toBe('/app');
    rmSync(out, { recursive: true, force: true });

    // Run it: a step on top of the pushed image runs as its USER, in its WORKDIR, through rbuild's sandbox.
    const ctx2 = join(work, 'run');
    writeContext(ctx2, { Dockerfile: `FROM ${ref}\nRUN ./entrypoint.sh ./app && stat -c '%u:%g %a' /app/data\n` });
    const run = await rbuild(['build', '--root', join(work, 'store2'), '--progress=plain', ctx2], { env });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/entrypoint as 1001:1001/);
    expect(run.stderr).toMatch(/app running/);
    expect(run.stderr).toMatch(/1001:1001 700/);
  });
});
