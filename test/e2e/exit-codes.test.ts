/**
 * Exit codes CI relies on (builder/cli/errors.ts): 1 when a RUN step fails,
 * 2 for bad input, 3 for infrastructure such as an unreachable registry; run
 * as the unprivileged user like a rootless CI job.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/registry-server.js';
import { tempDirFor, TEST_USER, removeTempDirs } from '../support/unprivileged.js';
import { busybox, rbuild, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('rbuild build exit codes', () => {
  let work: string;
  beforeAll(() => {
    work = tempDirFor(TEST_USER, 'rbuild-exit-');
  });

  async function build(name: string, dockerfile: string) {
    const ctx = join(work, name);
    writeContext(ctx, { Dockerfile: dockerfile });
    return rbuild(['build', '--root', join(work, 'store'), '--progress=plain', ctx]);
  }

  it('exits 1 when a RUN step fails', async () => {
    const r = await build('run-fails', `FROM ${busybox()}\nRUN echo about to fail && exit 7\n`);
    expect(r.stderr).toContain('about to fail');
    expect(r.code).toBe(1);
  });

  it('exits 2 for a Dockerfile error', async () => {
    const r = await build('bad-input', 'FROM scratch\nNOTANINSTRUCTION x\n');
    expect(r.code).toBe(2);
  });

  it('exits 3 when the registry is unreachable', async () => {
    // A loopback port nobody listens on: connection refused, an infrastructure failure.
    const r = await build('no-registry', `FROM 127.0.0.1:${await freePort()}/library/busybox:latest\nRUN true\n`);
    expect(r.stderr).toMatch(/error:/);
    expect(r.code).toBe(3);
  });
});
