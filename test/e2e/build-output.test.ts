/** --output type=local|tar|oci|docker as an unprivileged user; independent tools read the results. */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirFor, TEST_USER, userInfo, removeTempDirs } from '../support/unprivileged.js';
import { busybox, rbuild, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('--output', () => {
  it('writes the file system as a directory and a tar, the image as an OCI layout, OCI archive and docker archive', async () => {
    const work = tempDirFor(TEST_USER, 'rbuild-out-');
    const ctx = join(work, 'ctx');
    const out = (n: string) => join(work, n);
    writeContext(ctx, { Dockerfile: `FROM ${busybox()}\nRUN echo built > /result.txt && chown 1234:1234 /result.txt\n` });
    const r = await rbuild([
      'build', '--root', join(work, 'store'), '-t', 'out:1',
      '--output', `type=local,dest=${out('fs')}`,
      '--output', `type=tar,dest=${out('fs.tar')}`,
      '--output', `type=oci,dest=${out('layout')}/`,
      '--output', `type=oci,dest=${out('image.oci.tar')}`,
      '--output', `type=docker,dest=${out('image.docker.tar')}`,
      ctx,
    ]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    // local: the user's own files
    expect(readFileSync(out('fs/result.txt'), 'utf8')).toBe('built\n');
    expect(statSync(out('fs/result.txt')).uid).toBe(userInfo(TEST_USER).uid);
    expect(statSync(out('fs/bin/busybox')).mode & 0o111).not.toBe(0);
    // tar: owners as in the image
    expect(execFileSync('tar', ['--numeric-owner', '-tvf', out('fs.tar'), './result.txt'], { encoding: 'utf8' })).toMatch(/1234\/1234/);
    // OCI layout, OCI archive and docker archive read by skopeo
    const layout = JSON.parse(readFileSync(out('layout/index.json'), 'utf8'));
    expect(layout.manifests.length).toBe(1);
    const inspect = (ref: string) => JSON.parse(execFileSync('skopeo', ['inspect', ref], { encoding: 'utf8' }));
    expect(inspect(`oci-archive:${out('image.oci.tar')}`).Layers.length).toBe(2);
    expect(inspect(`docker-archive:${out('image.docker.tar')}`).Layers.length).toBe(2);
  });
});
