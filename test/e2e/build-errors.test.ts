/**
 * Issue 6, acceptance 5: every error path a user meets prints one clear line
 * (then a hint), with the exit code docs/ci.md promises. Run as the test user
 * against the real registry, with progress off so stderr is the error alone.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDirFor, TEST_USER } from '../support/unprivileged.js';
import { busybox, rbuild, registry, writeContext } from './build-fixtures.js';

afterAll(removeTempDirs);

describe('build error messages', () => {
  let work: string;
  let store: string;
  beforeAll(() => {
    work = tempDirFor(TEST_USER, 'rbuild-errors-');
    store = join(work, 'store');
  });

  /** Builds a context made of `files` (with --progress=quiet plus `flags`); returns the error and hint lines. */
  async function fails(name: string, files: Record<string, string>, flags: string[] = [], contextArg?: string) {
    const ctx = join(work, name);
    writeContext(ctx, files);
    const r = await rbuild(['build', '--root', store, '--progress=quiet', ...flags, contextArg ?? ctx]);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    return { code: r.code, stdout: r.stdout, lines, error: lines[0] ?? '', hint: lines.slice(1).join('\n') };
  }

  /** One `error:` line, first; then the hint. */
  function oneClearLine(r: { lines: string[]; error: string; hint: string }): void {
    expect(r.error).toMatch(/^error: /);
    expect(r.lines.filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(r.hint).toMatch(/^hint: /);
    expect(r.lines.join('\n')).not.toMatch(/\n\s+at |Error: /);
  }

  it('missing context', async () => {
    const r = await fails('unused', {}, [], join(work, 'no-such-dir'));
    oneClearLine(r);
    expect(r.error).toMatch(/build context ".*no-such-dir" not found/);
    expect(r.code).toBe(2);
  });

  it("missing base image, with the registry's answer", async () => {
    const r = await fails('nobase', { Dockerfile: `FROM ${registry()}/library/no-such-image:1\nRUN true\n` });
    oneClearLine(r);
    expect(r.error).toContain(`pulling ${registry()}/library/no-such-image:1: 404 Not Found (manifest unknown) from ${registry()}`);
    expect(r.hint).toMatch(/repository name and tag/);
    // A base image that does not exist is bad input, not a registry outage worth retrying.
    expect(r.code).toBe(2);
  });

  it('failed RUN: exit code, the command, the last lines of its output', async () => {
    const r = await fails('runfails', { Dockerfile: `FROM ${busybox()}\nRUN for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line$i; done; echo to-stderr >&2; exit 7\n` });
    oneClearLine(r);
    expect(r.error).toMatch(/^error: RUN for i in .* exit 7 exited with code 7$/);
    expect(r.hint).toMatch(/^hint: last output:\n/);
    expect(r.hint).toContain('line12');
    expect(r.hint).toContain('to-stderr');
    // The last lines, not the whole log.
    expect(r.hint).not.toMatch(/\bline1\n/);
    expect(r.code).toBe(1);
  });

  it('bad --chown user', async () => {
    const r = await fails('chown', { Dockerfile: `FROM ${busybox()}\nCOPY --chown=nosuchuser:nosuchuser a.txt /a.txt\n`, 'a.txt': 'a\n' });
    oneClearLine(r);
    expect(r.error).toBe('error: unable to find user nosuchuser: no matching entries in passwd file');
    expect(r.hint).toMatch(/useradd.*numeric ids/);
    expect(r.code).toBe(2);
  });

  it('bad --chown group', async () => {
    const r = await fails('chgrp', { Dockerfile: `FROM ${busybox()}\nCOPY --chown=0:nosuchgroup a.txt /a.txt\n`, 'a.txt': 'a\n' });
    oneClearLine(r);
    expect(r.error).toBe('error: unable to find group nosuchgroup: no matching entries in group file');
    expect(r.code).toBe(2);
  });

  it('COPY source outside the context', async () => {
    const r = await fails('outside', { Dockerfile: `FROM ${busybox()}\nCOPY ../secret.txt /s\n`, 'a.txt': 'a\n' });
    oneClearLine(r);
    expect(r.error).toBe('error: "../secret.txt" is outside the build context');
    expect(r.code).toBe(2);
  });

  it('COPY source missing from the context', async () => {
    const r = await fails('missing', { Dockerfile: `FROM ${busybox()}\nCOPY nothere.txt /s\n`, 'a.txt': 'a\n' });
    oneClearLine(r);
    expect(r.error).toBe('error: "nothere.txt" not found in the build context');
    expect(r.hint).toMatch(/\.dockerignore/);
    expect(r.code).toBe(2);
  });

  it('another --platform, and --pull=never without the image', async () => {
    const plat = await fails('plat', { Dockerfile: `FROM ${busybox()}\n` }, ['--platform', 'linux/s390x']);
    oneClearLine(plat);
    expect(plat.error).toMatch(/building for linux\/s390x is not supported yet \(this machine is linux\//);
    expect(plat.code).toBe(2);
    const never = await fails('never', { Dockerfile: `FROM ${busybox()}\n` }, ['--root', join(work, 'empty-store'), '--pull=never']);
    oneClearLine(never);
    expect(never.error).toBe(`error: image ${busybox()} is not in the local store`);
    expect(never.hint).toContain(`rbuild pull ${busybox()}`);
    expect(never.code).toBe(2);
  });
});
