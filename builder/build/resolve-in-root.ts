/**
 * Resolving a path inside a root file system the way the kernel would after
 * chroot: symlinks are followed, absolute targets restart at the root, and
 * `..` never climbs above it. COPY destinations go through this so that a
 * symlink in the image can never send a write outside the root. The walk is
 * snapshotter/path-walk.ts's, shared with the unmounted upper-writer.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { walkPath } from '../../snapshotter/path-walk.js';

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
  const parts = walkPath(p, {
    lookup: (rel) => {
      const abs = join(root, rel);
      try {
        return { abs, st: lstatSync(abs) };
      } catch {
        return undefined;
      }
    },
    followLast,
    tooManyLinks: () => new SymlinkLoopError(p),
  });
  return join(root, ...parts.map((c) => c.name));
}
