/**
 * Writing into an unmounted snapshot as if it were mounted: image paths are
 * resolved through the merged view (upper over the lower chain, symlinks
 * followed inside the root), and what a write needs is copied up first the
 * way overlayfs does it: the directories on the path, with the lower's owner,
 * mode, xattrs and times. A lower non-directory at the end of a path is
 * linked up as a placeholder so that callers see it (and replace it). After
 * the writes, finish() drops what was copied up but not changed and marks a
 * directory that replaced a lower non-directory opaque, so the upper holds
 * what overlayfs's upper would.
 */
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { copyXattrs } from './copy-tree.js';
import { SnapshotError } from './errors.js';
import { lstatOrUndefined } from './lower-view.js';
import { nativeFs } from './native-fs.js';
import { OPAQUE_XATTR } from './overlay-form.js';
import { walkPath, type WalkedComponent } from './path-walk.js';
import type { LowerEntry, LowerLookup } from './snapshotter.js';

/** What this process may not do here becomes NEEDS_NAMESPACE; the caller retries with a mount, in the namespace. */
function permission(e: unknown, what: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EPERM' || code === 'EACCES') return new SnapshotError('NEEDS_NAMESPACE', `${what}: ${(e as Error).message}`, { cause: e });
  return e as Error;
}

/** Seconds as utimes takes them, from a bigint stat's nanoseconds (sub-microsecond exact). */
const seconds = (ns: bigint): number => Number(ns) / 1e9;

/**
 * Runs `change` in directory `dir` without its times showing it: overlayfs's
 * copy-up keeps the parent's times, and undoing a copy-up must not leave a trace.
 */
function keepingTimes(dir: string, change: () => void): void {
  const st = fs.lstatSync(dir, { bigint: true });
  change();
  fs.lutimesSync(dir, seconds(st.atimeNs), seconds(st.mtimeNs));
}

/** Resolves and copies up paths of one unmounted snapshot. */
export class UpperWriter {
  /** Directories copied up, parents before children, with their stat right after the copy. */
  private readonly copied = new Map<string, fs.BigIntStats>();
  /** Lower non-directories linked up as placeholders, with their inode. */
  private readonly placeholders = new Map<string, bigint>();

  constructor(
    readonly upper: string,
    private readonly lower: LowerLookup,
  ) {}

  /** The merged entry at `rel`: the upper's, else the lower chain's. */
  private entry(rel: string): (LowerEntry & { inUpper: boolean }) | undefined {
    const abs = join(this.upper, rel);
    const st = lstatOrUndefined(abs);
    if (st) return { abs, st, inUpper: true };
    const l = this.lower.lookup(rel);
    return l ? { ...l, inUpper: false } : undefined;
  }

  /** The components of `p` resolved in the merged root (as resolve-in-root does on a mounted one). */
  private components(p: string, followLast: boolean): Array<WalkedComponent<LowerEntry & { inUpper: boolean }>> {
    return walkPath(p, {
      lookup: (rel) => this.entry(rel),
      followLast,
      tooManyLinks: () => new SnapshotError('UNMOUNTED_FALLBACK', `too many levels of symbolic links resolving ${p}`),
      // A path through a non-directory fails on a mounted root; let that path report it.
      notDirectory: () => new SnapshotError('UNMOUNTED_FALLBACK', `${p}: not a directory`),
    });
  }

  /**
   * The host path in the upper for image path `p`, symlinks followed inside
   * the root (the last one only when `followLast`). Lower directories on the
   * path, the last component included, are copied up; a lower non-directory
   * at the end is linked up so that lstat sees it. Throws SnapshotError
   * NEEDS_NAMESPACE when a copy-up needs ids this process cannot give, and
   * UNMOUNTED_FALLBACK for paths it does not emulate (use a mounted snapshot).
   */
  resolve(p: string, followLast = true): string {
    const walked = this.components(p, followLast);
    const parts = walked.map((c) => c.name);
    let rel = '';
    for (let i = 0; i < parts.length; i++) {
      rel = rel === '' ? parts[i]! : `${rel}/${parts[i]}`;
      if (walked[i]!.entry?.inUpper) continue;
      const up = join(this.upper, rel);
      if (this.copied.has(rel) || lstatOrUndefined(up)) continue;
      const l = this.lower.lookup(rel);
      if (!l) break;
      if (!l.st.isDirectory()) {
        // Only the last component can be one (components() refused the rest).
        try {
          keepingTimes(dirname(up), () => fs.linkSync(l.abs, up));
        } catch (e) {
          throw permission(e, `linking up ${rel}`);
        }
        this.placeholders.set(rel, BigInt(l.st.ino));
        break;
      }
      try {
        keepingTimes(dirname(up), () => fs.mkdirSync(up, { mode: 0o700 }));
        // Owner first (chown clears set-id bits), then mode, xattrs, times: as overlayfs copies up.
        const ls = fs.lstatSync(l.abs, { bigint: true });
        fs.lchownSync(up, Number(ls.uid), Number(ls.gid));
        fs.chmodSync(up, Number(ls.mode) & 0o7777);
        copyXattrs(l.abs, up);
        fs.lutimesSync(up, seconds(ls.atimeNs), seconds(ls.mtimeNs));
      } catch (e) {
        throw permission(e, `copying up ${rel}`);
      }
      this.copied.set(rel, fs.lstatSync(up, { bigint: true }));
    }
    return join(this.upper, ...parts);
  }

  /** The host path of the merged entry at image path `p`, for reading (nothing copied up); undefined when absent. */
  locate(p: string, followLast = true): string | undefined {
    const parts = this.components(p, followLast).map((c) => c.name);
    return parts.length === 0 ? this.upper : this.entry(parts.join('/'))?.abs;
  }

  /** Ends the writes: unchanged copy-ups and placeholders go, a directory over a lower non-directory becomes opaque. */
  finish(): void {
    for (const [rel, ino] of this.placeholders) {
      const abs = join(this.upper, rel);
      const st = lstatOrUndefined(abs);
      if (!st) continue;
      if (BigInt(st.ino) === ino) keepingTimes(dirname(abs), () => fs.unlinkSync(abs));
      else if (st.isDirectory()) nativeFs().lsetxattr(abs, OPAQUE_XATTR, 'y');
    }
    // Children were copied up after their parents: undo in reverse.
    for (const [rel, before] of [...this.copied].reverse()) {
      const abs = join(this.upper, rel);
      let now: fs.BigIntStats;
      try {
        now = fs.lstatSync(abs, { bigint: true });
      } catch {
        continue;
      }
      // Not ctime: restoring a parent's times (keepingTimes) sets it. A chmod/chown to the very same
      // values, with the same mtime set back, is the one change this cannot see.
      // mtime within a microsecond: times are set through utimes' double seconds, which cannot carry every
      // nanosecond value, so restoring a parent's mtime may move it by a few ns; a real write moves it to now.
      const diff = now.mtimeNs - before.mtimeNs;
      const untouched = now.isDirectory() && now.ino === before.ino && diff < 1000n && diff > -1000n &&
        now.mode === before.mode && now.uid === before.uid && now.gid === before.gid;
      if (untouched && fs.readdirSync(abs).length === 0) keepingTimes(dirname(abs), () => fs.rmdirSync(abs));
    }
  }
}
