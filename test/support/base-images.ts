/**
 * Offline base root file systems for tests and benchmarks, as tarballs with
 * numeric root owners (extract them inside a user namespace to get mapped owners):
 * - busybox: Debian's busybox-static plus its applet links, passwd/group, /tmp;
 * - debian: `debootstrap --variant=minbase` of the release apt is configured for,
 *   from apt's own mirror (cached under /var/cache/rbuild-test, it takes minutes).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where built base tarballs are cached between test runs (root-owned, world-readable). */
export const CACHE_DIR = process.env.RBUILD_TEST_CACHE ?? '/var/cache/rbuild-test';

function cached(name: string, make: (tmpTar: string) => void): string {
  mkdirSync(CACHE_DIR, { recursive: true, mode: 0o755 });
  const out = join(CACHE_DIR, name);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  make(tmp);
  chmodSync(tmp, 0o644);
  renameSync(tmp, out);
  return out;
}

/** Writes a busybox root file system into `dir` (which must exist and be empty). */
export function writeBusyboxRootfs(dir: string): void {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'home', 'var', 'dev', 'proc', 'sys', 'tmp', 'run']) {
    mkdirSync(join(dir, d), { recursive: true, mode: 0o755 });
  }
  chmodSync(join(dir, 'tmp'), 0o1777);
  chmodSync(join(dir, 'root'), 0o700);
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync('/bin/busybox', ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) {
    const p = join(dir, a);
    if (a === 'bin/busybox' || existsSync(p)) continue;
    const depth = a.split('/').length - 1;
    symlinkSync(`${'../'.repeat(depth)}bin/busybox`, p);
  }
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(join(dir, 'etc/hostname'), 'busybox\n');
}

/** A cached tarball (uncompressed, numeric owners) of a busybox root file system. */
export function busyboxRootfsTar(): string {
  return cached('busybox-rootfs-v2.tar', (tmpTar) => {
    const dir = mkdtempSync(join(tmpdir(), 'busybox-rootfs-'));
    try {
      writeBusyboxRootfs(dir);
      // mkdtemp made the root 0700: an image root must be traversable by every user.
      chmodSync(dir, 0o755);
      execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '--sort=name', '-C', dir, '-cf', tmpTar, '.']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** The Debian mirror and release apt on this machine is configured for. */
export function aptMirror(): { mirror: string; suite: string } {
  const dir = '/etc/apt/sources.list.d';
  const texts = [existsSync('/etc/apt/sources.list') ? readFileSync('/etc/apt/sources.list', 'utf8') : ''];
  if (existsSync(dir)) for (const f of readdirSync(dir)) if (/\.(list|sources)$/.test(f)) texts.push(readFileSync(join(dir, f), 'utf8'));
  for (const t of texts) {
    const uri = /^URIs:\s*(\S+)/m.exec(t);
    const suite = /^Suites:\s*(\S+)/m.exec(t);
    if (uri && suite && !uri[1]!.includes('security')) return { mirror: uri[1]!, suite: suite[1]! };
    const deb = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/m.exec(t);
    if (deb && !deb[1]!.includes('security')) return { mirror: deb[1]!, suite: deb[2]! };
  }
  throw new Error('no Debian mirror found in /etc/apt/sources.list*');
}

/** A cached tarball of `debootstrap --variant=minbase` (needs root and the Debian mirror). */
export function debianRootfsTar(): string {
  const { mirror, suite } = aptMirror();
  return cached(`debian-${suite}-minbase-v2.tar`, (tmpTar) => {
    const dir = mkdtempSync(join(tmpdir(), 'debian-rootfs-'));
    try {
      chmodSync(dir, 0o755);
      execFileSync('debootstrap', ['--variant=minbase', suite, dir, mirror], { stdio: 'ignore' });
      // apt's lists and caches are not part of a base image.
      execFileSync('sh', ['-c', `rm -rf ${dir}/var/lib/apt/lists/* ${dir}/var/cache/apt/*.bin ${dir}/var/cache/apt/archives/*.deb`]);
      execFileSync('tar', ['--numeric-owner', '--xattrs', '--sort=name', '-C', dir, '-cf', tmpTar, '.']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
