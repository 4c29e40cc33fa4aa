// Interop with layers made by buildah itself (containers/storage's overlay differ and tar writer):
// buildah builds an image as the test user, rootless, with whiteouts of base files, a deleted
// directory and an opaque directory; rbuild's snapshotter unpacks it with every driver in a user
// namespace and shows the tree `umoci unpack` shows; rbuild builds FROM it once pushed to a registry.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isOverlayXattr } from '../../snapshotter/overlay-form.js';
import { treeManifest } from '../../snapshotter/testing/tree-manifest.js';
import { busyboxRootfsTar } from '../support/base-images.js';
import { mkdirFor, removeTempDirs, runAs, tempDir, tempDirFor, TEST_USER } from '../support/unprivileged.js';
import { rbuild, registry, writeContext } from './build-fixtures.js';

afterAll(removeTempDirs);

const LONG = `opt/${'l'.repeat(90)}/${'m'.repeat(90)}`;
const containerfile = [
  'FROM busybox-local',
  // Base files and a base directory deleted; new files of every kind.
  `RUN rm /bin/vi /etc/group && rm -r /home && mkdir -p /opt/data/sub /opt/gone /opt/keep /${LONG} /opt/empty` +
    ' && echo hi > /opt/keep/f && echo x > /opt/data/old && echo y > /opt/gone/y && echo s > /opt/data/sub/s' +
    ' && chown 1000:1001 /opt/keep/f && chmod 4755 /opt/keep/f && ln /opt/keep/f /opt/hard && ln -s ../etc/passwd /opt/link' +
    ` && mkdir -m 1777 /opt/sticky && mkfifo /opt/fifo && chmod 2750 /opt/empty && echo long > /${LONG}/file` +
    ' && chown 65000:65001 /opt/data/old && dd if=/dev/zero of=/opt/zeros bs=1024 count=3000 2>/dev/null',
  // A deleted directory (whiteout), a deleted and recreated one (opaque), a file deleted in a later layer.
  'RUN rm -rf /opt/data /opt/gone /bin/cat && mkdir /opt/data && echo new > /opt/data/only && chmod 700 /opt/data && rm /opt/keep/f',
  '',
].join('\n');

let work = '';
let layout = '';
let env: Record<string, string> = {};
let buildahArgs: string[] = [];

/** Runs buildah as the test user with the store under `work`. */
async function buildah(args: string[]) {
  const r = await runAs(TEST_USER, [...buildahArgs, ...args], { env, cwd: work });
  if (r.code !== 0) throw new Error(`buildah ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r;
}

function tarList(blob: string): string[] {
  return execFileSync('tar', ['-tzf', blob], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

beforeAll(async () => {
  work = tempDirFor(TEST_USER, 'rbuild-bh-');
  fs.writeFileSync(join(work, 'storage.conf'), ['[storage]', 'driver = "overlay"', `runroot = "${work}/run"`, `graphroot = "${work}/graph"`, `rootless_storage_path = "${work}/graph"`, ''].join('\n'), { mode: 0o644 });
  fs.writeFileSync(join(work, 'Containerfile'), containerfile, { mode: 0o644 });
  fs.chmodSync(mkdirFor(TEST_USER, join(work, 'runtime')), 0o700);
  env = { CONTAINERS_STORAGE_CONF: join(work, 'storage.conf'), XDG_RUNTIME_DIR: join(work, 'runtime'), XDG_DATA_HOME: join(work, 'data') };
  buildahArgs = ['buildah', '--root', join(work, 'graph'), '--runroot', join(work, 'run'), '--storage-driver', 'overlay'];
  // The base layer is buildah's too: the busybox tree added to a scratch container and committed.
  const c = (await buildah(['from', '--name', 'base', 'scratch'])).stdout.trim();
  await buildah(['add', c, busyboxRootfsTar(), '/']);
  await buildah(['commit', '--quiet', c, 'busybox-local']);
  await buildah(['bud', '--layers', '--runtime', 'runc', '--network', 'host', '--isolation', 'oci', '-t', 'bh-test', '-f', join(work, 'Containerfile'), work]);
  layout = join(work, 'layout');
  await buildah(['push', '--quiet', 'bh-test', `oci:${layout}:latest`]);
}, 300_000);

describe('layers made by buildah', () => {
  it('carry the whiteouts this test is about', () => {
    const blob = (d: string) => join(layout, 'blobs/sha256', d.slice(7));
    const index = JSON.parse(fs.readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const m = JSON.parse(fs.readFileSync(blob(index.manifests[0]!.digest), 'utf8')) as { layers: Array<{ digest: string }> };
    expect(m.layers).toHaveLength(3);
    const run1 = tarList(blob(m.layers[1]!.digest));
    expect(run1).toEqual(expect.arrayContaining(['bin/.wh.vi', 'etc/.wh.group', '.wh.home', 'opt/hard']));
    const run2 = tarList(blob(m.layers[2]!.digest));
    expect(run2).toEqual(expect.arrayContaining(['bin/.wh.cat', 'opt/.wh.gone', 'opt/data/.wh..wh..opq', 'opt/data/only', 'opt/keep/.wh.f']));
  });

  for (const driver of ['overlay', 'copy', 'fuse-overlayfs'] as const) {
    it(`unpack with ${driver} in a user namespace gives the tree umoci unpack gives`, async () => {
      const bundle = join(tempDir('rbuild-bh-umoci-'), 'bundle');
      execFileSync('umoci', ['unpack', '--image', `${layout}:latest`, bundle], { stdio: 'pipe' });
      const theirs = treeManifest(join(bundle, 'rootfs'), { mtime: true, skipXattr: isOverlayXattr }).filter((l) => !l.startsWith('. '));
      const store = tempDirFor(TEST_USER, 'rbuild-bh-store-');
      const script = join(inject('appDir'), 'dist/snapshotter/testing/run-unpack-layout.js');
      const r = await runAs(TEST_USER, ['unshare', '--user', '--map-root-user', '--map-auto', '--mount', '--', process.execPath, script, layout, store, driver]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const ours = JSON.parse(r.stdout) as { warnings: string[]; manifest: string[] };
      // containers/storage leaves overlay's bookkeeping xattrs of its upper dirs in the tar; they are dropped.
      expect(ours.warnings).toEqual([]);
      // Kernel overlay shows a lower inode's own link count: opt/hard's other name is deleted by a
      // whiteout in a later layer, so it still counts 2 there (docker's overlay2 shows the same).
      const nlink = (m: string[]) => (driver === 'overlay' ? m.map((l) => l.replace(/^(opt\/hard .*) nlink=2/, '$1')) : m);
      expect(nlink(ours.manifest)).toEqual(theirs);
      // Anchors, so that an empty or wrong pair of trees cannot pass.
      const has = (re: RegExp) => expect(ours.manifest).toContainEqual(expect.stringMatching(re));
      const hasNot = (prefix: string) => expect(ours.manifest.filter((l) => l.startsWith(prefix))).toEqual([]);
      has(/^opt\/hard file 4755 1000:1001 3 /);
      has(/^opt\/data dir 700 0:0 /);
      has(/^opt\/data\/only file 644 0:0 4 /);
      has(/^opt\/empty dir 2750 0:0 /);
      has(/^opt\/sticky dir 1777 0:0 /);
      has(/^opt\/fifo fifo 644 0:0/);
      has(/^opt\/link symlink 777 0:0 -> \.\.\/etc\/passwd/);
      has(new RegExp(`^${LONG}/file file 644 0:0 5 `));
      has(/^opt\/zeros file 644 0:0 3072000 /);
      has(/^bin\/ls symlink /);
      for (const gone of ['opt/data/old', 'opt/data/sub', 'opt/gone', 'opt/keep/f', 'bin/cat ', 'bin/vi ', 'etc/group ', 'home']) hasNot(gone);
    });
  }

  it('rbuild builds FROM the image once buildah pushed it to a registry', async () => {
    const ref = `${registry()}/interop/buildah-made:1`;
    await buildah(['push', '--quiet', '--tls-verify=false', 'bh-test', `docker://${ref}`]);
    const ctx = join(tempDirFor(TEST_USER, 'rbuild-bh-ctx-'), 'ctx');
    const checks = [
      'test ! -e /bin/cat', 'test ! -e /opt/gone', 'test ! -e /home', 'test ! -e /etc/group', 'test "$(ls -A /opt/data)" = only',
      'test -u /opt/hard', 'test "$(stat -c %u:%g /opt/hard)" = 1000:1001', 'test -p /opt/fifo', 'test -k /opt/sticky',
      `test "$(cat /${LONG}/file)" = long`, 'test ! -e /opt/keep/f',
    ];
    writeContext(ctx, { Dockerfile: `FROM ${ref}\nRUN ${checks.join(' && ')} && echo checked > /checked\n` });
    const r = await rbuild(['build', '--root', join(ctx, '..', 'store'), ctx]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
  });
});
