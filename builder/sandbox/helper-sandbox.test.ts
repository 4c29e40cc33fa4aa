import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfsTar } from '../../test/support/base-images.js';
import { SandboxError } from './errors.js';
import { HelperSandbox } from './helper-sandbox.js';
import type { RunSpec } from './sandbox.js';

// The TypeScript API against the real helper, as real root (the unprivileged paths are in test/e2e/sandbox*.test.ts).
describe('HelperSandbox (real helper, as root)', () => {
  let dir: string;
  let root: string;
  let sandbox: HelperSandbox;
  const base = (): RunSpec => ({
    rootfs: root,
    args: ['sh', '-c', 'echo out; echo err >&2'],
    env: ['PATH=/bin:/usr/bin'],
    cwd: '/',
    uid: 0,
    gid: 0,
    additionalGids: [],
    hostname: 'unit',
    network: 'none',
    mounts: [],
  });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rbuild-hs-'));
    root = join(dir, 'root');
    mkdirSync(root);
    mkdirSync(join(dir, 'tmp'));
    execFileSync('tar', ['-xf', busyboxRootfsTar(), '-C', root]);
    sandbox = new HelperSandbox({ tmpDir: join(dir, 'tmp') });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('streams stdout and stderr and returns the exit code', async () => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const res = await sandbox.run(base(), { stdout: (b) => out.push(b), stderr: (b) => err.push(b) });
    expect(res).toEqual({ exitCode: 0 });
    expect(Buffer.concat(out).toString()).toBe('out\n');
    expect(Buffer.concat(err).toString()).toBe('err\n');
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  });

  it('applies bind and tmpfs mounts', async () => {
    mkdirSync(join(dir, 'src'));
    const out: Buffer[] = [];
    const res = await sandbox.run(
      {
        ...base(),
        args: ['sh', '-c', 'echo hi > /data/f; touch /ro/x 2>/dev/null || echo RO; mount | grep -c " /scratch type tmpfs"'],
        mounts: [
          { type: 'bind', source: join(dir, 'src'), target: '/data', readonly: false },
          { type: 'bind', source: join(dir, 'src'), target: '/ro', readonly: true },
          { type: 'tmpfs', target: '/scratch' },
        ],
      },
      { stdout: (b) => out.push(b), stderr: () => {} },
    );
    expect(res.exitCode).toBe(0);
    expect(Buffer.concat(out).toString()).toBe('RO\n1\n');
    expect(readFileSync(join(dir, 'src/f'), 'utf8')).toBe('hi\n');
    // Mount points made for the step are gone again.
    expect(readdirSync(root)).not.toContain('data');
    expect(readdirSync(root)).not.toContain('scratch');
  });

  it('reports signals as 128+N with the name', async () => {
    const res = await sandbox.run({ ...base(), args: ['sh', '-c', 'kill -USR1 $$'] }, { stdout: () => {}, stderr: () => {} });
    expect(res).toEqual({ exitCode: 138, signal: 'SIGUSR1' });
  });

  it('kills the whole step on abort and rejects with the reason', async () => {
    const ac = new AbortController();
    const marker = `sleep ${200000 + (process.pid % 100000)}`;
    const p = sandbox.run({ ...base(), args: ['sh', '-c', `${marker} & echo started; wait`] }, {
      stdout: (b) => {
        if (b.toString().includes('started')) ac.abort(new Error('cancelled'));
      },
      stderr: () => {},
    }, ac.signal);
    await expect(p).rejects.toThrow('cancelled');
    const left = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(marker);
      } catch {
        return false;
      }
    });
    expect(left).toEqual([]);
  });

  it('turns helper failures into SandboxError with syscall, errno and hint', async () => {
    const p = sandbox.run({ ...base(), cwd: '/nope' }, { stdout: () => {}, stderr: () => {} });
    await expect(p).rejects.toBeInstanceOf(SandboxError);
    await expect(sandbox.run({ ...base(), cwd: '/nope' }, { stdout: () => {}, stderr: () => {} })).rejects.toMatchObject({
      code: 'EHELPER',
      syscall: 'chdir',
      errno: 'ENOENT',
      hint: 'working directory /nope',
    });
  });
});

// chroot isolation (the real helper's run-chroot, as root): what the helper puts into the root for the step is gone
// afterwards, times included, so the copy driver's diff never sees it.
describe('HelperSandbox with chroot isolation (real helper, as root)', () => {
  let dir: string;
  let root: string;
  const warnings: string[] = [];
  let sandbox: HelperSandbox;
  const spec = (args: string[]): RunSpec => ({
    rootfs: root, args, env: ['PATH=/bin:/usr/bin'], cwd: '/', uid: 0, gid: 0, additionalGids: [], hostname: 'unit', network: 'none', mounts: [],
    etcHosts: '127.0.0.1\tchroot-test\n', resolvConf: 'nameserver 192.0.2.53\n',
  });
  const collect = () => {
    const out: Buffer[] = [];
    return { io: { stdout: (b: Buffer) => out.push(b), stderr: (b: Buffer) => out.push(b) }, text: () => Buffer.concat(out).toString() };
  };
  const snapshot = (): string => execFileSync('sh', ['-c', 'cd "$1" && find . -print0 | xargs -0 stat -c "%n %a %u %Y %s"', 'sh', root], { encoding: 'utf8' });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rbuild-hsc-'));
    root = join(dir, 'root');
    mkdirSync(root);
    mkdirSync(join(dir, 'tmp'));
    execFileSync('tar', ['-xf', busyboxRootfsTar(), '-C', root]);
    // An image with its own /etc/hosts (restored afterwards) and none of resolv.conf (removed afterwards).
    execFileSync('sh', ['-c', 'printf "10.0.0.1 image\\n" > "$1/etc/hosts" && touch -d @1000000000 "$1/etc/hosts" "$1/etc" "$1/dev" "$1"', 'sh', root]);
    sandbox = new HelperSandbox({ tmpDir: join(dir, 'tmp'), isolation: 'chroot', onWarning: (w) => warnings.push(w) });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the step rbuild\'s /etc files and /dev nodes, and leaves the root as it was', async () => {
    const before = snapshot();
    const c = collect();
    const r = await sandbox.run(spec(['sh', '-c', 'cat /etc/hosts /etc/resolv.conf; head -c 3 /dev/urandom | wc -c; echo $$']), c.io);
    expect(r).toEqual({ exitCode: 0 });
    expect(c.text()).toBe('127.0.0.1\tchroot-test\nnameserver 192.0.2.53\n3\n1\n');
    expect(snapshot()).toBe(before);
    expect(readFileSync(join(root, 'etc/hosts'), 'utf8')).toBe('10.0.0.1 image\n');
    expect(readdirSync(join(root, 'dev'))).toEqual([]);
    // --network none cannot be had without a network namespace: said once.
    expect(warnings).toEqual([expect.stringMatching(/^RUN --network=none needs a network namespace/)]);
  });

  it('copies a read-only file mount (a secret) in for the step with its owner and mode, and out again', async () => {
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'sekrit');
    chmodSync(secret, 0o400);
    const before = snapshot();
    const c = collect();
    const r = await sandbox.run(
      { ...spec(['sh', '-c', 'stat -c "%a %u" /run/secrets/s; cat /run/secrets/s']), mounts: [{ type: 'bind', source: secret, target: '/run/secrets/s', readonly: true }] },
      c.io,
    );
    expect(r).toEqual({ exitCode: 0 });
    expect(c.text()).toBe('400 0\nsekrit');
    // The file and the directories made for it are gone, and the times of the one above are back.
    expect(snapshot()).toBe(before);
  });

  it('refuses RUN --mount of a directory with one clear error, and kills the step on abort', async () => {
    await expect(sandbox.run({ ...spec(['true']), mounts: [{ type: 'tmpfs', target: '/x' }] }, collect().io)).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    const ac = new AbortController();
    const p = sandbox.run(spec(['sh', '-c', 'sleep 60 & sleep 60']), collect().io, ac.signal);
    setTimeout(() => ac.abort(new Error('stop')), 300);
    await expect(p).rejects.toThrow('stop');
  });
});
