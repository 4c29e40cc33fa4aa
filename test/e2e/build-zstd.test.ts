// --compression-format zstd: new layers are zstd (through the `zstd` program: Node 20's zlib has
// none), pushed with the OCI zstd media type; a fresh store pulls and extracts them to build FROM them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDirFor, TEST_USER } from '../support/unprivileged.js';
import { busybox, rbuild, registry, writeContext } from './build-fixtures.js';

afterAll(removeTempDirs);

describe('--compression-format zstd', () => {
  it('writes zstd layers, pushes them, and another store builds FROM them', async () => {
    const work = tempDirFor(TEST_USER, 'rbuild-zstd-');
    const ctx = join(work, 'ctx');
    const meta = join(work, 'meta.json');
    const ref = `${registry()}/zstd/app:1`;
    writeContext(ctx, { Dockerfile: `FROM ${busybox()}\nRUN echo zstd > /z && mkdir /d && echo 1 > /d/one && rm /bin/ls\nCOPY f /d/f\n`, f: 'copied\n' });
    const r = await rbuild(['build', '--root', join(work, 'store'), '--compression-format', 'zstd', '--compression-level', '19', '--metadata-file', meta, '-t', ref, '--push', ctx]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const blob = (d: string) => join(work, 'store/oci/blobs/sha256', d.replace('sha256:', ''));
    const m = JSON.parse(readFileSync(blob(JSON.parse(readFileSync(meta, 'utf8'))['containerimage.digest']), 'utf8'));
    expect(m.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+gzip', // the base, as pulled
      'application/vnd.oci.image.layer.v1.tar+zstd',
      'application/vnd.oci.image.layer.v1.tar+zstd',
    ]);
    const run = readFileSync(blob(m.layers[1].digest));
    expect(run.readUInt32LE(0)).toBe(0xfd2fb528);
    const list = execFileSync('bash', ['-c', `zstd -dc '${blob(m.layers[1].digest)}' | tar -t | sort`], { encoding: 'utf8' }).trim().split('\n');
    expect(list).toEqual(expect.arrayContaining(['bin/.wh.ls', 'd/', 'd/one', 'z']));
    const config = JSON.parse(readFileSync(blob(m.config.digest), 'utf8'));
    const diffId = `sha256:${execFileSync('bash', ['-c', `zstd -dc '${blob(m.layers[1].digest)}' | sha256sum`], { encoding: 'utf8' }).split(' ')[0]}`;
    expect(config.rootfs.diff_ids[1]).toBe(diffId);

    const ctx2 = join(work, 'ctx2');
    writeContext(ctx2, { Dockerfile: `FROM ${ref}\nRUN test "$(cat /z)" = zstd && test "$(cat /d/f)" = copied && test ! -e /bin/ls\n` });
    const r2 = await rbuild(['build', '--root', join(work, 'store2'), ctx2]);
    expect(r2.stderr).not.toMatch(/error/i);
    expect(r2.code).toBe(0);
  });

  it('refuses zstd with docker manifests, and zstd levels outside 1-19', async () => {
    const work = tempDirFor(TEST_USER, 'rbuild-zstd-');
    const ctx = join(work, 'ctx');
    writeContext(ctx, { Dockerfile: `FROM ${busybox()}\nRUN echo x > /x\n` });
    const r = await rbuild(['build', '--root', join(work, 'store'), '--compression-format', 'zstd', '--format', 'docker', ctx]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--compression-format zstd needs --format oci');
    const r2 = await rbuild(['build', '--root', join(work, 'store'), '--compression-format', 'zstd', '--compression-level', '22', ctx]);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toContain('--compression-level for zstd must be a whole number from 1 to 19');
  });
});
