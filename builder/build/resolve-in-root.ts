/**
 * Resolving a path inside a root file system the way the kernel would after
 * chroot: symlinks are followed, absolute targets restart at the root, and
 * `..` never climbs above it. COPY destinations go through this so that a
 * symlink in the image can never send a write outside the root.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Too many symlinks while resolving (ELOOP). */
export class SymlinkLoopError extends Error {
  readonly code = 'ELOOP';
  constructor(p: string) {
    super(`too many levels of symbolic links resolving ${p}`);
  }
}

/**
 * Returns the host path for image path `p` under `root`, following every
 * symlink (the last component too unless `followLast` is false). Components
 * that do not exist are appended as they are.
 */
export function resolveInRoot(root: string, p: string, followLast = true): string {
  let pending = p.split('/').filter((s) => s !== '' && s !== '.');
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      done.push(part);
      continue;
    }
    if (st.isSymbolicLink() && (followLast || pending.length > 0)) {
      if (++hops > 255) throw new SymlinkLoopError(p);
      const target = readlinkSync(host);
      const parts = target.split('/').filter((s) => s !== '' && s !== '.');
      if (target.startsWith('/')) done.length = 0;
      pending = [...parts, ...pending];
      continue;
    }
    done.push(part);
  }
  return join(root, ...done);
}
