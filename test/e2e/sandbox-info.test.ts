import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { NOSUB_USER, TEST_USER, removeTempDirs } from '../support/unprivileged.js';
import { rbuild, rbuildArgv } from './sandbox-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

interface Item { key: string; ok: boolean; value: string; fix?: string }

async function info(user: string): Promise<Map<string, Item>> {
  const r = await rbuild(user, ['info', '--format', 'json']);
  expect(r.code).toBe(0);
  const items = (JSON.parse(r.stdout) as { items: Item[] }).items;
  return new Map(items.map((i) => [i.key, i]));
}

describe('rbuild info', () => {
  it('reports what the user with a subuid range has', async () => {
    const i = await info(TEST_USER);
    expect(i.get('userns')).toMatchObject({ ok: true });
    expect(i.get('subuid')).toMatchObject({ ok: true, value: expect.stringMatching(/^\d+:65536$/) });
    expect(i.get('newuidmap')).toMatchObject({ ok: true });
    expect(i.get('overlay')).toMatchObject({ ok: true });
    expect(i.get('seccomp')).toMatchObject({ ok: true });
    // .ci/setup opens /dev/net/tun and /dev/fuse as distributions do.
    expect(i.get('slirp4netns')).toMatchObject({ ok: true });
    expect(i.get('fuse-overlayfs')).toMatchObject({ ok: true });
    expect(i.get('cgroup')).toBeDefined();
  });

  it('names the missing subuid range with the exact fix', async () => {
    const i = await info(NOSUB_USER);
    expect(i.get('userns')).toMatchObject({ ok: true, value: expect.stringContaining('single') });
    expect(i.get('subuid')).toMatchObject({
      ok: false,
      fix: `sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${NOSUB_USER}`,
    });
    const text = await rbuild(NOSUB_USER, ['info']);
    expect(text.stdout).toMatch(/^NO {2}subuid .*\n\s+fix: sudo usermod --add-subuids/m);
  });

  it('as real root: a private mount namespace, no user namespace', () => {
    const [node, ...args] = rbuildArgv('unshare', '--', 'sh', '-c', 'echo "$RBUILD_USERNS_MAP"; readlink /proc/self/ns/mnt /proc/self/ns/user');
    const r = spawnSync(node!, args, { encoding: 'utf8', env: { ...process.env, RBUILD_USERNS: '' } });
    expect(r.status).toBe(0);
    const [map, mnt, user] = r.stdout.trim().split('\n');
    expect(map).toBe('root');
    expect(mnt).not.toBe(spawnSync('readlink', ['/proc/self/ns/mnt'], { encoding: 'utf8' }).stdout.trim());
    expect(user).toBe(spawnSync('readlink', ['/proc/self/ns/user'], { encoding: 'utf8' }).stdout.trim());
  });
});
