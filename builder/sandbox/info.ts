/** What `rbuild info` reports: the kernel features and tools rootless builds need, each missing one with its fix. */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { release, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SandboxError } from './errors.js';
import { detectIsolation } from './isolation.js';
import { checkHelper, helperPath, type NamespaceProbe } from './native-helper.js';
import { probeNetwork, which } from './network.js';
import { currentNamespace } from './userns.js';

const execFileP = promisify(execFile);

/** One line of `rbuild info`. */
export interface InfoItem {
  /** Stable key, e.g. `userns`, `subuid`. */
  key: string;
  ok: boolean;
  /** What was found. */
  value: string;
  /** The command or change that fixes it, when not ok. */
  fix?: string;
}

/** Everything `rbuild info` found. */
export interface SystemInfo {
  kernel: string;
  user: string;
  uid: number;
  items: InfoItem[];
}

function readTrim(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Parses /etc/subuid-style text into the ranges of a user (by name or uid). */
export function subidRanges(text: string, name: string, uid: number): Array<{ start: number; count: number }> {
  const out: Array<{ start: number; count: number }> = [];
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (!who || start === undefined || count === undefined) continue;
    if (who !== name && who !== String(uid)) continue;
    if (/^\d+$/.test(start) && /^\d+$/.test(count) && Number(count) > 0) out.push({ start: Number(start), count: Number(count) });
  }
  return out;
}

/** Why unprivileged user namespaces are off, from the sysctls (pure: values as read, undefined when absent). */
export function usernsBlockers(s: { maxUserNamespaces?: string; unprivilegedClone?: string; apparmorRestrict?: string }): InfoItem[] {
  const out: InfoItem[] = [];
  if (s.maxUserNamespaces === '0') {
    out.push({ key: 'userns.max', ok: false, value: 'user.max_user_namespaces = 0', fix: 'sudo sysctl -w user.max_user_namespaces=15000' });
  }
  if (s.unprivilegedClone === '0') {
    out.push({ key: 'userns.clone', ok: false, value: 'kernel.unprivileged_userns_clone = 0', fix: 'sudo sysctl -w kernel.unprivileged_userns_clone=1' });
  }
  if (s.apparmorRestrict === '1') {
    out.push({
      key: 'userns.apparmor',
      ok: false,
      value: 'kernel.apparmor_restrict_unprivileged_userns = 1 (AppArmor blocks unprivileged user namespaces)',
      fix: 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile with `userns,` for node)',
    });
  }
  return out;
}

async function probeUserns(helper: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const { stdout } = await execFileP(helper, ['userns', '--', 'sh', '-c', 'echo "$RBUILD_USERNS_MAP"; cat /proc/self/uid_map']);
    return { ok: true, detail: stdout.trim().replace(/\s+/g, ' ') };
  } catch (err) {
    return { ok: false, detail: ((err as { stderr?: string }).stderr ?? String(err)).trim() };
  }
}

async function probeOverlay(helper: string, inNamespace: boolean): Promise<{ ok: boolean; detail: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'rbuild-info-'));
  const script =
    'cd "$1" && mkdir l u w m && echo x > l/f && ' +
    'mount -t overlay overlay -o lowerdir=l,upperdir=u,workdir=w,userxattr m 2>/dev/null || ' +
    'mount -t overlay overlay -o lowerdir=l,upperdir=u,workdir=w m && cat m/f >/dev/null && umount m';
  try {
    const argv = inNamespace || process.getuid?.() === 0 ? ['sh', '-c', script, 'sh', dir] : [helper, 'userns', '--', 'sh', '-c', script, 'sh', dir];
    await execFileP(argv[0]!, argv.slice(1));
    return { ok: true, detail: 'kernel overlayfs mounts in the user namespace' };
  } catch (err) {
    return { ok: false, detail: ((err as { stderr?: string }).stderr ?? String(err)).trim() || 'mount failed' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function accessible(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

function isSetuid(path: string): boolean {
  try {
    return (statSync(path).mode & 0o4000) !== 0;
  } catch {
    return false;
  }
}

/** Collects the system facts `rbuild info` prints. Probes run the helper; nothing is changed on the machine. */
export async function collectInfo(): Promise<SystemInfo> {
  const uid = process.getuid?.() ?? 0;
  const ns = currentNamespace();
  const outerUid = ns?.outerUid ?? uid;
  const user = process.env.USER || userInfo().username;
  const items: InfoItem[] = [];

  // helper
  let helper = '';
  let seccomp = false;
  let mountns: NamespaceProbe | undefined;
  try {
    helper = helperPath();
    const h = await checkHelper(helper);
    seccomp = h.seccomp;
    mountns = h.mountns;
    items.push({ key: 'helper', ok: true, value: `${h.path} (protocol ${h.protocol})` });
  } catch (err) {
    items.push({ key: 'helper', ok: false, value: (err as Error).message, fix: 'npm rebuild (needs build-essential, python3)' });
  }

  // user namespaces
  const blockers = usernsBlockers({
    maxUserNamespaces: readTrim('/proc/sys/user/max_user_namespaces'),
    unprivilegedClone: readTrim('/proc/sys/kernel/unprivileged_userns_clone'),
    apparmorRestrict: readTrim('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
  });
  if (outerUid === 0 && !ns && mountns && !mountns.ok) {
    items.push({
      key: 'userns',
      ok: false,
      value: `running as root, but this container forbids namespaces and mounts (unshare(CLONE_NEWNS): ${mountns.errno ?? 'failed'}): RUN steps use chroot isolation`,
      fix: 'nothing needed for builds; for the stronger rootless isolation run the container with user namespaces allowed (e.g. --security-opt seccomp=unconfined)',
    });
  } else if (outerUid === 0 && !ns) {
    items.push({ key: 'userns', ok: true, value: 'running as real root: no user namespace needed (private mount namespace only)' });
  } else if (ns) {
    items.push({ key: 'userns', ok: true, value: `inside rbuild's user namespace (mapping ${ns.mode})` });
  } else if (helper) {
    const p = await probeUserns(helper);
    // A seccomp filter on rbuild itself (e.g. Docker's default profile) blocks unshare(CLONE_NEWUSER).
    if (!p.ok && /^Seccomp:\s*2$/m.test(readTrim('/proc/self/status') ?? '')) p.detail += ' (rbuild runs under a seccomp filter: inside a container?)';
    items.push(
      p.ok
        ? { key: 'userns', ok: true, value: `allowed (${p.detail})` }
        : { key: 'userns', ok: false, value: `not allowed: ${p.detail}`, fix: blockers[0]?.fix ?? 'see the sysctls below; inside a container, run it with --security-opt seccomp=unconfined or give it user namespaces' },
    );
  }
  items.push(...blockers);

  // isolation: what a build here would choose, and why
  if (helper) {
    try {
      items.push({ key: 'isolation', ok: true, value: (await detectIsolation('auto')).reason });
    } catch (err) {
      const e = err as SandboxError;
      items.push({ key: 'isolation', ok: false, value: e.message, ...(e.hint ? { fix: e.hint } : {}) });
    }
  }

  // subuid / subgid
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const ranges = subidRanges(readTrim(file) ?? '', user, outerUid);
    const key = file.slice(5);
    if (outerUid === 0) items.push({ key, ok: true, value: 'not needed as root' });
    else if (ranges.length) items.push({ key, ok: true, value: ranges.map((r) => `${r.start}:${r.count}`).join(', ') });
    else
      items.push({
        key,
        ok: false,
        value: `no range for ${user} in ${file}: single-id mapping (USER and chown to other ids fail)`,
        fix: `sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}`,
      });
  }

  // newuidmap / newgidmap
  for (const tool of ['newuidmap', 'newgidmap']) {
    const p = which(tool, `${process.env.PATH ?? ''}:/usr/bin:/usr/sbin:/bin:/sbin`);
    if (!p) items.push({ key: tool, ok: outerUid === 0, value: 'not installed', fix: 'sudo apt-get install uidmap' });
    // Some distributions use file capabilities instead of the setuid bit; the userns probe above is the real test.
    else if (!isSetuid(p)) items.push({ key: tool, ok: false, value: `${p} is not setuid (fine only if it has file capabilities)`, fix: `sudo chmod u+s ${p}` });
    else items.push({ key: tool, ok: true, value: p });
  }

  // overlay in the user namespace
  if (helper) {
    const o = await probeOverlay(helper, Boolean(ns));
    items.push(o.ok ? { key: 'overlay', ok: true, value: o.detail } : { key: 'overlay', ok: false, value: `kernel overlayfs unusable: ${o.detail}`, fix: 'use fuse-overlayfs (apt-get install fuse-overlayfs) or a kernel >= 5.11' });
  }

  // fuse-overlayfs
  const fuse = which('fuse-overlayfs', `${process.env.PATH ?? ''}:/usr/bin`);
  if (!fuse) items.push({ key: 'fuse-overlayfs', ok: false, value: 'not installed', fix: 'sudo apt-get install fuse-overlayfs' });
  else if (!accessible('/dev/fuse', constants.R_OK | constants.W_OK))
    items.push({ key: 'fuse-overlayfs', ok: false, value: `${fuse}, but /dev/fuse is not readable and writable by you`, fix: 'sudo chmod 0666 /dev/fuse (distributions ship it so)' });
  else items.push({ key: 'fuse-overlayfs', ok: true, value: fuse });

  // slirp4netns
  const net = probeNetwork();
  if (!net.slirp4netns) items.push({ key: 'slirp4netns', ok: false, value: 'not installed: RUN uses the host network', fix: 'sudo apt-get install slirp4netns' });
  else if (!net.tunUsable)
    items.push({ key: 'slirp4netns', ok: false, value: `${net.slirp4netns}, but /dev/net/tun is not readable and writable: RUN uses the host network`, fix: 'sudo chmod 0666 /dev/net/tun (distributions ship it so)' });
  else items.push({ key: 'slirp4netns', ok: true, value: `${net.slirp4netns}: private network for RUN` });

  // seccomp
  items.push(
    seccomp
      ? { key: 'seccomp', ok: true, value: 'default profile compiled into the helper' }
      : { key: 'seccomp', ok: false, value: 'not compiled in: RUN steps run without a seccomp profile', fix: 'sudo apt-get install libseccomp-dev && npm rebuild' },
  );

  // cgroup v2 delegation
  const controllers = readTrim('/sys/fs/cgroup/cgroup.controllers');
  if (controllers === undefined) {
    items.push({ key: 'cgroup', ok: false, value: 'cgroup v1 or hybrid layout: no resource limits for RUN (builds work)', fix: 'boot with systemd.unified_cgroup_hierarchy=1' });
  } else {
    const own = /^0::(.*)$/m.exec(readTrim('/proc/self/cgroup') ?? '')?.[1] ?? '/';
    const dir = join('/sys/fs/cgroup', own);
    const writable = accessible(join(dir, 'cgroup.procs'), constants.W_OK);
    items.push(
      writable
        ? { key: 'cgroup', ok: true, value: `cgroup v2, ${dir} delegated (${controllers})` }
        : { key: 'cgroup', ok: false, value: `cgroup v2, but ${dir} is not delegated to you: no resource limits for RUN (builds work)`, fix: 'systemd-run --user --scope -p Delegate=yes rbuild ...' },
    );
  }

  return { kernel: release(), user, uid: outerUid, items };
}

/** The human form of `rbuild info`. */
export function formatInfo(info: SystemInfo): string {
  const lines = [`kernel: ${info.kernel}`, `user: ${info.user} (uid ${info.uid})`];
  const width = Math.max(...info.items.map((i) => i.key.length));
  for (const i of info.items) {
    lines.push(`${i.ok ? 'ok ' : 'NO '} ${i.key.padEnd(width)}  ${i.value}`);
    if (!i.ok && i.fix) lines.push(`    ${' '.repeat(width)}  fix: ${i.fix}`);
  }
  return `${lines.join('\n')}\n`;
}
