/**
 * Remote build cache, CI style: one runner builds with --cache-to, fresh
 * stores (other runners, no disk) build with --cache-from against the real
 * registry; the cache is a plain OCI image manifest, not an index.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDirFor, TEST_USER } from '../support/unprivileged.js';
import { busybox, events, rbuild, registry, startedSteps, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('--cache-to / --cache-from type=registry', () => {
  let work: string;
  let ctx: string;
  const cacheRef = () => `${registry()}/e2e/remote-cache:buildcache`;
  beforeAll(() => {
    work = tempDirFor(TEST_USER, 'rbuild-rcache-');
    ctx = join(work, 'ctx');
    writeContext(ctx, {
      Dockerfile: [
        `FROM ${busybox()}`,
        'COPY a.txt /a.txt',
        'RUN cat /a.txt > /a-copy.txt',
        'COPY b.txt /b.txt',
        'RUN cat /b.txt /a-copy.txt > /both.txt',
        'CMD ["cat", "/both.txt"]',
        '',
      ].join('\n'),
      'a.txt': 'alpha\n',
      'b.txt': 'beta\n',
    });
  });

  it('exports the cache as a plain OCI image manifest', async () => {
    const r = await rbuild(['build', '-t', 'rc/app:1', '--root', join(work, 'A'), '--progress=json', '--cache-to', `type=registry,ref=${cacheRef()}`, ctx]);
    expect(r.stderr + r.stdout).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(startedSteps(r.stderr)).toHaveLength(5);
    const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${cacheRef()}`], { encoding: 'utf8' })) as Record<string, unknown> & { config: { mediaType: string }; layers: unknown[] };
    expect(raw.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(raw.config.mediaType).toBe('application/vnd.rbuild.cache.config.v1+json');
    // mode=min (the default): exactly the layers the build made, the two COPY and two RUN layers;
    // the base's come with the base image, which a build using the cache pulls anyway.
    expect(raw.layers).toHaveLength(4);
    const base = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${busybox()}`], { encoding: 'utf8' })) as { layers: Array<{ digest: string }> };
    const exported = new Set((raw.layers as Array<{ digest: string }>).map((l) => l.digest));
    for (const l of base.layers) expect(exported.has(l.digest)).toBe(false);
    // The store keeps the build's layers uncompressed; the cache carries them gzip-compressed.
    expect((raw.layers as Array<{ mediaType: string }>).map((l) => l.mediaType)).toEqual(Array(4).fill('application/vnd.oci.image.layer.v1.tar+gzip'));
  });

  it('a fresh store with --cache-from runs no step and gives the same image', async () => {
    const a = await rbuild(['build', '-q', '--root', join(work, 'A'), ctx]);
    const r = await rbuild(['build', '-t', 'rc/app:1', '--root', join(work, 'B'), '--progress=json', '--cache-from', `type=registry,ref=${cacheRef()}`, '--iidfile', join(work, 'B.iid'), ctx]);
    expect(r.stderr + r.stdout).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(startedSteps(r.stderr)).toEqual([]);
    expect(events(r.stderr).filter((e) => e.type === 'step-cached')).toHaveLength(5);
    const b = await rbuild(['build', '-q', '--root', join(work, 'B'), ctx]);
    expect(b.stdout.trim()).toBe(a.stdout.trim());
  });

  it('after one changed file only the steps from its COPY on run; earlier and unrelated hits still come from the cache', async () => {
    writeContext(ctx, { 'b.txt': 'BETA\n' });
    const r = await rbuild(['build', '-t', 'rc/app:2', '--root', join(work, 'C'), '--progress=json', '--cache-from', `type=registry,ref=${cacheRef()}`, ctx]);
    expect(r.stderr + r.stdout).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(startedSteps(r.stderr)).toEqual(['COPY b.txt /b.txt', 'RUN cat /b.txt /a-copy.txt > /both.txt', 'CMD ["cat", "/both.txt"]']);
    const run = await rbuild(['build', '-q', '--root', join(work, 'C'), ctx]);
    expect(run.code).toBe(0);
  });

  it('mode=min leaves other stages out, mode=max exports them too', async () => {
    const ms = join(work, 'ms');
    writeContext(ms, {
      Dockerfile: [
        `FROM ${busybox()} AS gen`,
        'RUN echo generated > /g',
        `FROM ${busybox()}`,
        'COPY --from=gen /g /g',
        '',
      ].join('\n'),
    });
    const ref = (m: string) => `${registry()}/e2e/remote-cache:${m}`;
    for (const mode of ['min', 'max']) {
      const e = await rbuild(['build', '-q', '--root', join(work, `E-${mode}`), '--cache-to', `type=registry,ref=${ref(mode)},mode=${mode}`, ms]);
      expect(e.code).toBe(0);
    }
    const cold = (mode: string) => rbuild(['build', '--root', join(work, `F-${mode}`), '--progress=json', '--cache-from', `type=registry,ref=${ref(mode)}`, ms]);
    const min = await cold('min');
    expect(min.code).toBe(0);
    expect(startedSteps(min.stderr)[0]).toBe('RUN echo generated > /g');
    const max = await cold('max');
    expect(max.code).toBe(0);
    expect(startedSteps(max.stderr)).toEqual([]);
  });

  it('a missing cache ref is an empty cache, and a bad spec is one clear error', async () => {
    const r = await rbuild(['build', '-q', '--root', join(work, 'D'), '--cache-from', `type=registry,ref=${registry()}/e2e/remote-cache:absent`, ctx]);
    expect(r.code).toBe(0);
    const bad = await rbuild(['build', '--root', join(work, 'D'), '--cache-from', 'type=s3,bucket=x', ctx]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/cache type "s3" is not supported/);
  });
});
