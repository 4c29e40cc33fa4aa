import { rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOSUB_USER, userInfo, removeTempDirs } from '../support/unprivileged.js';
import { extractRoot, rbuild, step } from './sandbox-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('sandbox for a user without a subuid range (single-id mapping)', () => {
  let root: string;
  const me = userInfo(NOSUB_USER);

  beforeAll(async () => {
    root = await extractRoot(NOSUB_USER);
  });
  afterAll(() => rmSync(dirname(root), { recursive: true, force: true }));

  it('says once which fix is missing, and still runs as root inside', async () => {
    const r = await step(NOSUB_USER, root, ['sh', '-c', 'id -u; touch /tmp/mine; cat /proc/self/uid_map']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('0');
    // The step shares rbuild's user namespace: one line, 0 -> the user's own uid.
    expect(r.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/).join(' '))).toEqual([`0 ${me.uid} 1`]);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: no subuid'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${NOSUB_USER}`);
    expect(statSync(join(root, 'tmp/mine')).uid).toBe(me.uid);
  });

  it('fails a chown to an unmapped id inside the step with the kernel error', async () => {
    const r = await step(NOSUB_USER, root, ['sh', '-c', 'touch /tmp/f && chown 1000 /tmp/f']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/chown.*Invalid argument/);
  });

  it('refuses USER with an unmapped id with a clear error and the fix', async () => {
    const r = await step(NOSUB_USER, root, ['id'], ['--user', '1000']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/setgid: EINVAL: gid 0 is not|setgid: EINVAL|setuid: EINVAL: uid 1000 is not mapped/);
    expect(r.stderr).toContain('usermod --add-subuids 100000-165535 --add-subgids 100000-165535');
  });

  it('rbuild unshare maps only the own id', async () => {
    const r = await rbuild(NOSUB_USER, ['unshare', '--', 'sh', '-c', 'id -u; cat /proc/self/uid_map']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^0\\n\\s*0\\s+${me.uid}\\s+1\\n$`));
  });
});
