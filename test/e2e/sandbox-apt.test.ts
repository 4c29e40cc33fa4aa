import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianRootfsTar } from '../support/base-images.js';
import { NOSUB_USER, TEST_USER, removeTempDirs } from '../support/unprivileged.js';
import { extractRoot, step, subidBase } from './sandbox-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

describe('apt-get inside the sandbox as an unprivileged user', () => {
  let root: string;

  beforeAll(async () => {
    // Cached under /var/cache/rbuild-test; the first run debootstraps (minutes).
    root = await extractRoot(TEST_USER, debianRootfsTar());
  }, 900_000);
  afterAll(() => {
    if (root) rmSync(dirname(root), { recursive: true, force: true });
  });

  it('installs a package with apt-get, dropping to the _apt sandbox user', async () => {
    const r = await step(
      TEST_USER,
      root,
      ['sh', '-c', 'apt-get update -q && apt-get install -y -q --no-install-recommends jq && jq --version && id _apt'],
      ['--network', 'private', '--env', PATH, '--env', 'DEBIAN_FRONTEND=noninteractive', '--env', 'HOME=/root'],
    );
    expect(r.stderr).not.toMatch(/^warning/m);
    expect(r.stderr).not.toMatch(/W: .*(sandbox|_apt)|seteuid|setgroups/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^jq-1\.\d/m);
    expect(existsSync(join(root, 'usr/bin/jq'))).toBe(true);
    // apt's partial downloads directory belongs to _apt (uid 42 inside): subuid base + 41 outside.
    expect(statSync(join(root, 'var/cache/apt/archives/partial')).uid).toBe(subidBase(TEST_USER) + 42 - 1);
  }, 600_000);
});

describe('apt-get with the single-id mapping (no subuid range)', () => {
  let root: string;

  beforeAll(async () => {
    // Only id 0 exists: files of other owners cannot be made, so this root is extracted with every file owned by 0.
    root = await extractRoot(NOSUB_USER, debianRootfsTar(), ['--no-same-owner']);
  }, 900_000);
  afterAll(() => {
    if (root) rmSync(dirname(root), { recursive: true, force: true });
  });

  it('fails where apt drops to _apt, and the warning says why and how to fix it', async () => {
    const r = await step(NOSUB_USER, root, ['apt-get', 'update', '-q'], ['--network', 'host', '--env', PATH]);
    expect(r.code).not.toBe(0);
    // The kernel's answer for an id outside the mapping is EINVAL.
    expect(r.stderr).toMatch(/seteuid 42 failed - seteuid \(22: Invalid argument\)/);
    expect(r.stderr).toMatch(/^warning: no subuid\/subgid range for rbuild-nosub: .*usermod --add-subuids/m);
  }, 600_000);

  it('works when apt is told not to drop privileges', async () => {
    const r = await step(NOSUB_USER, root, ['apt-get', '-o', 'APT::Sandbox::User=root', 'update', '-q'], ['--network', 'host', '--env', PATH]);
    expect(r.code).toBe(0);
  }, 600_000);
});
