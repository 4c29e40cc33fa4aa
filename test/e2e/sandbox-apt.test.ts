import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianRootfsTar } from '../support/base-images.js';
import { TEST_USER } from '../support/unprivileged.js';
import { extractRoot, step, subidBase } from './sandbox-fixtures.js';

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
