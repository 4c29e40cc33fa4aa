// The image-store commands end to end: the built CLI run as the unprivileged test user.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmod, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createWriteStream } from 'node:fs';
import { promisify } from 'node:util';
import { saveImage } from '../../../registry/archive/save-image.js';
import { openStore } from '../../../registry/store/oci-layout-store.js';
import { makeTestImage, type TestImage } from '../../../registry/store/test-image.js';
import { TEST_USER, runAs, tempDirFor } from '../../../test/support/unprivileged.js';
import { formatImages, humanAge, humanSize, repoAndTag } from './images.js';

const run = promisify(execFile);
let work: string;
let img: TestImage;

beforeAll(async () => {
  work = tempDirFor(TEST_USER);
  const src = await openStore(join(work, 'src'));
  img = await makeTestImage(src, { layers: [{ 'etc/motd': 'hello\n' }, { 'data/big': 'y'.repeat(10_000) }] });
  await src.tag('docker.io/library/demo:1', img.manifest);
  await saveImage(src, ['demo:1'], createWriteStream(join(work, 'demo.tar')), 'docker');
  await chmod(join(work, 'demo.tar'), 0o644);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function rbuild(...args: string[]) {
  return runAs(TEST_USER, [process.execPath, join(inject('appDir'), 'dist/builder/cli/main.js'), ...args, '--root', join(work, 'root')]);
}

async function ok(...args: string[]): Promise<string> {
  const r = await rbuild(...args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

describe('image store commands as an unprivileged user', () => {
  it('load, images, inspect, tag, save, rmi, prune', async () => {
    expect(await ok('load', '-i', join(work, 'demo.tar'))).toBe('Loaded image: docker.io/library/demo:1\n');
    const table = await ok('images');
    expect(table).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
    expect(table).toContain(`demo         1     ${img.config.digest.slice(7, 19)}`);

    const [info] = JSON.parse(await ok('inspect', 'demo:1'));
    expect(info.Id).toBe(img.config.digest);
    expect(info.Config.rootfs.diff_ids).toEqual(img.diffIds);
    expect(info.Manifest.layers).toHaveLength(2);

    await ok('tag', 'demo:1', 'localhost:5000/team/demo:2');
    expect(JSON.parse(await ok('images', '--format', 'json')).map((r: { name: string }) => r.name).sort()).toEqual([
      'docker.io/library/demo:1',
      'localhost:5000/team/demo:2',
    ]);

    const ociFile = join(work, 'out-oci.tar');
    await ok('save', 'localhost:5000/team/demo:2', '-o', ociFile, '--format', 'oci');
    const { stdout } = await run('skopeo', ['inspect', '--config', '--raw', `oci-archive:${ociFile}`]);
    expect(JSON.parse(stdout).rootfs.diff_ids).toEqual(img.diffIds);

    // The store is an OCI layout umoci reads, with full names.
    const ls = await run('umoci', ['ls', '--layout', join(work, 'root/oci')]);
    expect(ls.stdout.split('\n').filter(Boolean).sort()).toEqual(['docker.io/library/demo:1', 'localhost:5000/team/demo:2']);

    const bad = await rbuild('rmi', 'demo:1', 'nothere');
    expect(bad.stdout).toBe('Untagged: docker.io/library/demo:1\n');
    expect(bad.stderr).toBe('rbuild: image nothere not found in the store\n');
    expect(bad.code).toBe(1);
    expect(await ok('prune')).toBe('Total reclaimed space: 0B\n');
    await ok('rmi', img.config.digest.slice(7, 19));
    expect(await ok('prune')).toMatch(/deleted: sha256:[a-f0-9]{64}\n(.|\n)*Total reclaimed space: [\d.]+kB\n$/);
    expect(await ok('images', '-q')).toBe('');
    const gone = await rbuild('inspect', 'demo:1');
    expect(gone.code).toBe(1);
  });

  it('concurrent tag processes all land in index.json', async () => {
    await ok('load', '-i', join(work, 'demo.tar'));
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => rbuild('tag', 'demo:1', `localhost/many:${i}`)));
    expect(results.map((r) => r.code)).toEqual(Array(8).fill(0));
    const index = JSON.parse(await readFile(join(work, 'root/oci/index.json'), 'utf8'));
    expect(index.manifests).toHaveLength(9);
  });
});

describe('images formatting', () => {
  it('formats like docker', () => {
    expect(humanSize(999)).toBe('999B');
    expect(humanSize(4_261_000)).toBe('4.26MB');
    expect(humanAge('2024-01-01T00:00:00Z', Date.parse('2024-01-03T01:00:00Z'))).toBe('2 days ago');
    expect(repoAndTag('docker.io/library/busybox:latest')).toEqual(['busybox', 'latest']);
    expect(repoAndTag('localhost:5000/a:1')).toEqual(['localhost:5000/a', '1']);
    expect(repoAndTag(undefined)).toEqual(['<none>', '<none>']);
    const t = formatImages([{ name: 'docker.io/library/a:1', digest: `sha256:${'1'.repeat(64)}`, id: `sha256:${'2'.repeat(64)}`, size: 1500 }], {});
    expect(t).toBe('REPOSITORY   TAG   IMAGE ID       CREATED   SIZE\na            1     222222222222   N/A       1.5kB\n');
  });
});
