/**
 * Resolving an image path inside a root the way the kernel does after
 * chroot: component by component, symlinks followed (absolute targets restart
 * at the root), `..` never above the root. One algorithm for a mounted root
 * (builder's resolve-in-root, lstat on the host) and an unmounted snapshot
 * (upper-writer, the merged upper + lower view); they differ only in how an
 * entry is looked up and which errors they raise.
 */
import type { Stats } from 'node:fs';
import { readlinkSync } from 'node:fs';

/** Symlink hops allowed while resolving one path by default (the kernel's limit is 40). */
export const MAX_SYMLINK_HOPS = 255;

/** An entry met on the walk: its stat and the host path its symlink target is read from. */
export interface WalkedEntry {
  abs: string;
  st: Stats;
}

/** How walkPath looks entries up and what it refuses. */
export interface PathWalkOptions<E extends WalkedEntry> {
  /** The entry at `rel` (components joined with '/', '' never asked), undefined when absent. */
  lookup(rel: string): E | undefined;
  /** Follow a symlink in the last component too. */
  followLast: boolean;
  /** The error for more than `maxHops` symlinks on one path (ELOOP). */
  tooManyLinks(): Error;
  maxHops?: number;
  /** The error for a path through an existing non-directory; absent: the walk goes on (later parts count as missing). */
  notDirectory?(): Error;
}

/** One resolved component and the entry found for it (undefined: it does not exist; appended as it is). */
export interface WalkedComponent<E> {
  name: string;
  entry: E | undefined;
}

/** Resolves image path `p` to its components inside the root, each with the entry it was found as. */
export function walkPath<E extends WalkedEntry>(p: string, o: PathWalkOptions<E>): Array<WalkedComponent<E>> {
  const maxHops = o.maxHops ?? MAX_SYMLINK_HOPS;
  let pending = p.split('/').filter((s) => s !== '' && s !== '.');
  const done: Array<WalkedComponent<E>> = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const entry = o.lookup([...done.map((c) => c.name), part].join('/'));
    if (entry?.st.isSymbolicLink() && (o.followLast || pending.length > 0)) {
      if (++hops > maxHops) throw o.tooManyLinks();
      const target = readlinkSync(entry.abs);
      if (target.startsWith('/')) done.length = 0;
      pending = [...target.split('/').filter((s) => s !== '' && s !== '.'), ...pending];
      continue;
    }
    if (o.notDirectory && entry && pending.length > 0 && !entry.st.isDirectory()) throw o.notDirectory();
    done.push({ name: part, entry });
  }
  return done;
}
