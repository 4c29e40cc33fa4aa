// The snapshotter as it really runs: an unprivileged user, root only inside a
// user namespace with its subuid range mapped, in a private mount namespace.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runAs, tempDirFor, TEST_USER, userInfo } from '../test/support/unprivileged.js';
import { makeTar } from './testing/make-tar.js';
import type { LongChainResult } from './testing/long-chain.js';
import type { RoundTripResult } from './testing/round-trip.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function inUserNamespace(script: string, args: string[]) {
  const appDir = inject('appDir');
  return runAs(TEST_USER, ['unshare', '--user', '--map-root-user', '--map-auto', '--mount', '--', process.execPath, join(appDir, 'dist/snapshotter/testing', script), ...args]);
}

async function roundTrip(a: string, b: string): Promise<RoundTripResult> {
  const work = tempDirFor(TEST_USER);
  made.push(work);
  const r = await inUserNamespace('run-round-trip.js', [work, a, b]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as RoundTripResult;
}

function expectSameTrees(r: RoundTripResult): void {
  expect(r.merged.length).toBeGreaterThan(20);
  expect(r.committedView).toEqual(r.merged);
  expect(r.otherDriverView).toEqual(r.merged);
  expect(r.merged).toContainEqual(expect.stringMatching(/^etc\/owned file 644 1234:5678 /));
  expect(r.merged).toContainEqual(expect.stringMatching(/^bin\/tool file 4711 0:0 .*security\.capability=01000002/));
  expect(r.warnings).toEqual([]);
}

describe('snapshotter in a user namespace (unprivileged user)', () => {
  it('probes overlay as working', async () => {
    const root = tempDirFor(TEST_USER);
    made.push(root);
    const r = await inUserNamespace('run-probe.js', [root]);
    expect(r.code).toBe(0);
    const probes = JSON.parse(r.stdout) as Array<{ driver: string; ok: boolean; reason?: string }>;
    expect(probes.find((p) => p.driver === 'overlay')).toEqual({ driver: 'overlay', ok: true });
  });

  it('skips device nodes it cannot create, with warnings, and keeps the rest', async () => {
    const work = tempDirFor(TEST_USER);
    made.push(work);
    const tarPath = join(work, 'layer.tar');
    fs.writeFileSync(tarPath, makeTar([
      { path: 'dev', type: 'dir' },
      { path: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
      { path: 'dev/sda', type: 'block', mode: 0o660, devmajor: 8, devminor: 0 },
      { path: 'run/fifo', type: 'fifo', mode: 0o600 },
      { path: 'etc/x', body: 'x', uid: 1000, gid: 1000 },
    ]));
    fs.chmodSync(tarPath, 0o644);
    const out = join(work, 'out');
    fs.mkdirSync(out);
    fs.chownSync(out, userInfo(TEST_USER).uid, userInfo(TEST_USER).gid);
    const r = await inUserNamespace('run-extract.js', [tarPath, out]);
    expect(r.stderr).toBe('');
    const { warnings, manifest } = JSON.parse(r.stdout) as { warnings: string[]; manifest: string[] };
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^dev\/null: skipped char device 1:3/);
    expect(warnings[1]).toMatch(/^dev\/sda: skipped block device 8:0/);
    expect(manifest).toContain('run/fifo fifo 600 0:0');
    expect(manifest).toContainEqual(expect.stringMatching(/^etc\/x file 644 1000:1000 1 /));
  });

  it('overlay diff -> copy unpack round trip', async () => {
    expectSameTrees(await roundTrip('overlay', 'copy'));
  });

  it('copy diff -> overlay unpack round trip', async () => {
    expectSameTrees(await roundTrip('copy', 'overlay'));
  });

  it('fuse-overlayfs: a clear error on a 0600 /dev/fuse, a round trip once it is 0666', async () => {
    const before = fs.statSync('/dev/fuse').mode & 0o7777;
    try {
      fs.chmodSync('/dev/fuse', 0o600);
      const work = tempDirFor(TEST_USER);
      made.push(work);
      const denied = await inUserNamespace('run-round-trip.js', [work, 'fuse-overlayfs', 'overlay']);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain('/dev/fuse is not accessible to this user');
      expect(denied.stderr).toContain('chmod 0666 /dev/fuse');
      fs.chmodSync('/dev/fuse', 0o666);
      expectSameTrees(await roundTrip('fuse-overlayfs', 'overlay'));
    } finally {
      fs.chmodSync('/dev/fuse', before);
    }
  });

  // fuse-overlayfs mounts the same folded lowers as overlay (SnapshotStore.mountLowers): its own
  // round trip above covers it, and reading 600 files through FUSE would add seconds here.
  it('a chain of 600 layers (past overlay\'s 500 and the mount option page) mounts right with overlay and copy', async () => {
    const work = tempDirFor(TEST_USER);
    made.push(work);
    const r = await inUserNamespace('run-long-chain.js', [work, '600', 'overlay', 'copy']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as LongChainResult;
    expect(res.expected).toHaveLength(1 + 598 + 1 + 2 + 1); // d, its files, d/h, o and o/new, s
    expect(res.expected).toContainEqual(expect.stringMatching(/^d\/f10 file 600 7:8 7 /));
    expect(res.expected).toContainEqual(expect.stringMatching(/^d\/h file 4755 0:0 3 \S+ nlink=2 /));
    for (const d of ['overlay', 'copy']) {
      expect(res.views[d]).toEqual(res.expected);
      expect(res.diffs[d]).toEqual(['d/', 'd/step']);
    }
    expect(res.flat).toBe(1); // overlay folded the bottom once
  });
});
