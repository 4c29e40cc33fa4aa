import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_USER, userInfo, removeTempDirs } from '../support/unprivileged.js';
import { extractRoot, rbuild, step, subidBase } from './sandbox-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

// Docker's default capability set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
// NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
const DOCKER_CAPS = '00000000a80425fb';

describe('sandbox as an unprivileged user with a subuid range', () => {
  let root: string;
  const me = userInfo(TEST_USER);

  beforeAll(async () => {
    root = await extractRoot(TEST_USER);
    writeFileSync(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    );
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\nextra:x:2000:app\nmore:x:3000:app,other\nnogroup:x:65534:\n');
  });
  afterAll(() => rmSync(dirname(root), { recursive: true, force: true }));

  it('is root inside, and what root creates belongs to the user outside', async () => {
    const r = await step(TEST_USER, root, ['sh', '-c', 'id -u; touch /tmp/made-by-root']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0\n');
    expect(r.code).toBe(0);
    expect(statSync(join(root, 'tmp/made-by-root')).uid).toBe(me.uid);
  });

  it('maps a chown to 1000 onto subuid base + 999 outside', async () => {
    const r = await step(TEST_USER, root, ['sh', '-c', 'touch /tmp/owned && chown 1000:1000 /tmp/owned && stat -c %u:%g /tmp/owned']);
    expect(r.stdout).toBe('1000:1000\n');
    const st = statSync(join(root, 'tmp/owned'));
    expect(st.uid).toBe(subidBase(TEST_USER) + 1000 - 1);
    expect(st.gid).toBe(subidBase(TEST_USER, '/etc/subgid') + 1000 - 1);
  });

  it('sees only its own processes', async () => {
    const r = await step(TEST_USER, root, ['sh', '-c', 'ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "; echo; ps -o pid,comm']);
    const [pids, ...ps] = r.stdout.trim().split('\n');
    // PID 1 is the helper's init, 2 the step; the rest are this pipeline's own children.
    expect(pids!.trim().split(' ').map(Number).every((p) => p < 20)).toBe(true);
    expect(pids!.trim().split(' ')[0]).toBe('1');
    const comms = ps.slice(1).map((l) => l.trim().split(/\s+/)[1]);
    expect(comms[0]).toBe('rbuild-init');
    for (const c of comms.slice(1)) expect(['sh', 'ps']).toContain(c);
  });

  it('cannot write outside its root', async () => {
    const outside = join(dirname(root), 'outside-marker');
    writeFileSync(outside, 'host');
    const r = await step(TEST_USER, root, [
      'sh',
      '-c',
      `cat ${outside} 2>/dev/null && echo SEEN; cat /../outside-marker 2>/dev/null && echo ESCAPED; echo x > ../../../outside-marker; echo 1 > /proc/sys/kernel/hostname && echo SYSCTL; touch /sys/x 2>/dev/null && echo SYS; true`,
    ]);
    expect(r.stdout).not.toMatch(/SEEN|ESCAPED|SYSCTL|SYS/);
    expect(readFileSync(outside, 'utf8')).toBe('host');
    // The write landed inside the root, not next to it.
    expect(readFileSync(join(root, 'outside-marker'), 'utf8')).toBe('x\n');
  });

  it('cannot mount, load modules, raise capabilities or make a new user namespace', async () => {
    writeFileSync(join(root, 'tmp/m.ko'), 'not a module');
    const r = await step(TEST_USER, root, [
      'sh',
      '-c',
      'mkdir -p /mnt; mount -t tmpfs none /mnt && echo MOUNTED; mount --bind /proc /mnt && echo BOUND; ' +
        'insmod /tmp/m.ko && echo LOADED; unshare --user --map-root-user true && echo USERNS; unshare -m true && echo MNTNS; ' +
        'grep -E "^Cap(Eff|Bnd|Prm|Inh)" /proc/self/status; grep -E "^(Seccomp|NoNewPrivs)" /proc/self/status',
    ]);
    expect(r.stdout).not.toMatch(/MOUNTED|BOUND|LOADED|USERNS|MNTNS/);
    expect(r.stderr).toMatch(/insmod.*(not permitted|Operation)/i);
    expect(r.stderr).toMatch(/unshare.*(not permitted|Operation)/i);
    expect(r.stdout).toContain(`CapEff:\t${DOCKER_CAPS}`);
    expect(r.stdout).toContain(`CapBnd:\t${DOCKER_CAPS}`);
    expect(r.stdout).toContain('CapInh:\t0000000000000000');
    // Docker does not set no_new_privs by default; the seccomp filter is on.
    expect(r.stdout).toContain('NoNewPrivs:\t0');
    expect(r.stdout).toContain('Seccomp:\t2');
  });

  it("applies Docker's default seccomp profile: syscalls outside its allowlist fail with EPERM", async () => {
    // A static probe (testdata/seccomp/probe.c) prints "name errno" per syscall; busybox has no tools for these.
    const probe = join(root, 'tmp/seccomp-probe');
    execFileSync('gcc', ['-static', '-O2', '-o', probe, fileURLToPath(new URL('../../testdata/seccomp/probe.c', import.meta.url))]);
    const r = await step(TEST_USER, root, ['/tmp/seccomp-probe']);
    expect(r.stderr).toBe('');
    const got = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' ')));
    expect(got).toEqual({
      'personality-query': '0',
      'socket-unix': '0',
      // Both passed the former deny-list: Docker allows only PER_LINUX-like personalities and no AF_VSOCK.
      'personality-addr-no-randomize': String(constants.errno.EPERM),
      'socket-vsock': String(constants.errno.EPERM),
      keyctl: String(constants.errno.EPERM),
      clone3: String(constants.errno.ENOSYS),
      'unshare-uts': String(constants.errno.EPERM),
      'clone-newuser': String(constants.errno.EPERM),
    });
  });

  it('runs USER by name with its groups, by number, and with an explicit group', async () => {
    const byName = await step(TEST_USER, root, ['id'], ['--user', 'app']);
    expect(byName.stdout).toBe('uid=1000(app) gid=1000(app) groups=1000(app),2000(extra),3000(more)\n');
    const byNumber = await step(TEST_USER, root, ['id'], ['--user', '1000']);
    expect(byNumber.stdout).toBe('uid=1000(app) gid=1000(app) groups=1000(app),2000(extra),3000(more)\n');
    const withGroup = await step(TEST_USER, root, ['id'], ['--user', 'app:extra']);
    expect(withGroup.stdout).toBe('uid=1000(app) gid=2000(extra) groups=2000(extra)\n');
    const unknownNumber = await step(TEST_USER, root, ['id'], ['--user', '4242:4343']);
    expect(unknownNumber.stdout).toBe('uid=4242 gid=4343 groups=4343\n');
    const nonRootCaps = await step(TEST_USER, root, ['grep', '^CapEff', '/proc/self/status'], ['--user', 'app']);
    expect(nonRootCaps.stdout).toBe('CapEff:\t0000000000000000\n');
    const missing = await step(TEST_USER, root, ['id'], ['--user', 'ghost']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('unable to find user ghost');
  });

  it('runs in WORKDIR with exactly the given environment', async () => {
    mkdirSync(join(root, 'work/dir'), { recursive: true });
    const cwd = await step(TEST_USER, root, ['pwd'], ['--workdir', '/work/dir']);
    expect(cwd.stdout).toBe('/work/dir\n');
    const env = await step(TEST_USER, root, ['env'], ['--env', 'A=1', '--env', 'B=two words']);
    expect(env.stdout.split('\n').filter(Boolean).sort()).toEqual(['A=1', 'B=two words', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin']);
    const host = await step(TEST_USER, root, ['sh', '-c', 'hostname; cat /etc/hostname; grep -c "127.0.1.1.*stepbox" /etc/hosts'], ['--hostname', 'stepbox']);
    // The hostname is set; /etc/hostname stays the image's own file (as in BuildKit), so a RUN may change it.
    expect(host.stdout).toBe('stepbox\nbusybox\n1\n');
    const missing = await step(TEST_USER, root, ['pwd'], ['--workdir', '/does/not/exist']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toMatch(/chdir: ENOENT: working directory \/does\/not\/exist/);
    const notFound = await step(TEST_USER, root, ['no-such-tool']);
    expect(notFound.code).toBe(125);
    expect(notFound.stderr).toMatch(/exec: ENOENT: no-such-tool: not found/);
  });

  it('leaves no mount points it created in the root', async () => {
    // /etc/hosts and /etc/resolv.conf did not exist in the busybox root: they must not end up in a layer.
    expect(readdirSync(join(root, 'etc')).sort()).toEqual(['group', 'hostname', 'passwd']);
  });

  it('propagates exit codes and signals', async () => {
    const exit = await step(TEST_USER, root, ['sh', '-c', 'exit 42']);
    expect(exit.code).toBe(42);
    const term = await step(TEST_USER, root, ['sh', '-c', 'kill -TERM $$']);
    expect(term.code).toBe(143);
    const kill = await step(TEST_USER, root, ['sh', '-c', 'kill -KILL $$']);
    expect(kill.code).toBe(137);
  });

  it('ends the step on SIGINT to rbuild and leaves no process and no mount behind', async () => {
    const marker = `sleep ${100000 + (process.pid % 100000)}`;
    let rbuildPid = 0;
    const r = await step(TEST_USER, root, ['sh', '-c', `echo started; exec ${marker}`], [], {
      onSpawn: (child) => {
        rbuildPid = child.pid!;
        child.stdout!.on('data', (b: Buffer) => {
          if (b.toString().includes('started')) child.kill('SIGINT');
        });
      },
    });
    expect(r.code).toBe(130);
    const left: string[] = [];
    for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        if (cmd.includes(marker) || cmd.includes(root)) left.push(`${p}: ${cmd.replace(/\0/g, ' ')}`);
      } catch {
        // gone meanwhile
      }
    }
    expect(left).toEqual([]);
    expect(rbuildPid).toBeGreaterThan(0);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(root);
    // The helper still removed the mount points it had created for the step.
    expect(readdirSync(join(root, 'etc')).sort()).toEqual(['group', 'hostname', 'passwd']);
  });

  it('rbuild unshare runs a command as root of the namespace', async () => {
    const r = await rbuild(TEST_USER, ['unshare', '--', 'sh', '-c', 'id -u; cat /proc/self/uid_map | head -2 | tr -s " " | tr "\\n" ";"']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`0\n 0 ${me.uid} 1; 1 ${subidBase(TEST_USER)} 65536;`);
  });
});
