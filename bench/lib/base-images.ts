/**
 * The bench's base images, made offline and pushed to the bench registry as
 * `bench/<name>:latest`: busybox (busybox-static), debian (debootstrap
 * minbase) and largebase (busybox plus many small files). Tarballs and OCI
 * layouts are cached beside the test ones, so only the first run pays for them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE_DIR, busyboxRootfsTar, debianRootfsTar } from '../../test/support/base-images.js';
import { ociImageFromTar, pushLayoutToRegistry } from '../../test/support/oci-image-from-tar.js';
import type { BaseName } from '../cases/case.js';
import { baseRef } from '../cases/case.js';
import { largebaseFiles } from '../cases/largebase.js';

/** Files per directory in the largebase image (so no directory is huge). */
const PER_DIR = 100;

/** A cached tarball of busybox plus `files` small files under /data/dNNN/fNNN.txt. */
export function largebaseRootfsTar(files: number): string {
  const out = join(CACHE_DIR, `bench-largebase-${files}.tar`);
  if (existsSync(out)) return out;
  mkdirSync(CACHE_DIR, { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'largebase-rootfs-'));
  try {
    execFileSync('tar', ['--numeric-owner', '-C', dir, '-xf', busyboxRootfsTar()]);
    for (let d = 0; d * PER_DIR < files; d++) {
      const sub = join(dir, 'data', `d${String(d).padStart(3, '0')}`);
      mkdirSync(sub, { recursive: true });
      for (let f = 0; f < PER_DIR && d * PER_DIR + f < files; f++) {
        writeFileSync(join(sub, `f${String(f).padStart(3, '0')}.txt`), `largebase file ${d}/${f}\n`);
      }
    }
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '--sort=name', '-C', dir, '-cf', tmp, '.']);
    chmodSync(tmp, 0o644);
    renameSync(tmp, out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The root file system tarball of a base. */
function rootfsTar(base: BaseName, quick: boolean): string {
  switch (base) {
    case 'busybox':
      return busyboxRootfsTar();
    case 'debian':
      return debianRootfsTar();
    case 'largebase':
      return largebaseRootfsTar(largebaseFiles(quick));
  }
}

/** A cached OCI layout of a tarball (keyed by its name, size and mtime). */
async function cachedLayout(tar: string, cmd: string[], signal?: AbortSignal): Promise<string> {
  const st = statSync(tar);
  const dir = join(CACHE_DIR, 'bench-layouts', `${tar.split('/').pop()}-${st.size}-${Math.floor(st.mtimeMs)}`);
  if (existsSync(join(dir, 'index.json'))) return dir;
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  await ociImageFromTar(tar, tmp, { cmd, signal });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** Makes each base (cached) and pushes it to `registry` as `bench/<base>:latest`. */
export async function pushBaseImages(registry: string, bases: BaseName[], quick: boolean, signal?: AbortSignal): Promise<void> {
  for (const base of new Set(bases)) {
    const layout = await cachedLayout(rootfsTar(base, quick), base === 'debian' ? ['bash'] : ['/bin/sh'], signal);
    await pushLayoutToRegistry(layout, baseRef(registry, base), { signal });
  }
}
