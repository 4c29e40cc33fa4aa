/**
 * A COPY/ADD from the context that misses the cache (one source file changed)
 * takes the unchanged files from the previous run of the same step (its
 * "sibling": same parent key, same instruction, other source content) as hard
 * links to that run's committed snapshot, and writes only what changed. A
 * link allocates no inode, which is what writing 20,000 small files costs.
 *
 * Each run of such a step leaves a record: its sibling key, the committed
 * chain it produced, and the content hash of every regular file it wrote by
 * path in the layer. A file is linked only when the record's hash equals the
 * source's (known from the cache key's checksum: nothing is read) and the old
 * inode has exactly the owner, mode, size and mtime the copy would give it,
 * no xattrs, and no link from this copy yet: the layer is then byte for byte
 * the one a full copy makes. Committed snapshots are never written (RUN steps
 * write to a new upper), so sharing their inodes is safe.
 */
import { linkSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { nativeFs } from '../../snapshotter/native-fs.js';
import type { AddInstruction, CopyInstruction } from '../dockerfile/instruction-types.js';
import { isGitUrl, isHttpUrl } from './add-sources.js';
import { cacheKey } from './cache.js';
import type { FileReuse } from './copy.js';

/** Content hashes the context already knows (BuildContext.knownHash). */
export interface KnownHashes {
  knownHash(abs: string, st: Stats): string | undefined;
}

/** A snapshotter that shows where a committed snapshot's own layer directory is (SnapshotStore.chainLayers). */
export interface LayerDirs {
  chainLayers(chainId: `sha256:${string}`): string[];
}

/** What one run of a step wrote, as stored. */
export interface SiblingRecord {
  /** The committed snapshot the run produced. */
  chain: `sha256:${string}`;
  /** Content sha256 (hex) of each regular file written, by its path in the layer. */
  files: Record<string, string>;
}

/** Whether a COPY/ADD step copies from the build context only (what can be reused). */
export function reusableStep(step: CopyInstruction | AddInstruction): boolean {
  if (step.link || step.contents.length > 0 || step.sources.length === 0) return false;
  if (step.kind === 'COPY') return step.from === undefined;
  return !step.sources.some((s) => isHttpUrl(s) || isGitUrl(s));
}

/** The identity shared by every run of a step on the same parent: the expanded instruction without its sources' content. */
export function siblingKey(parentKey: string, step: CopyInstruction | AddInstruction): string {
  const flags = step.kind === 'COPY' ? [step.parents] : [step.checksum, step.keepGitDir, step.unpack];
  return cacheKey(parentKey, `${step.kind}-SIBLING`, [step.sources, step.dest, step.chown, step.chmod, step.exclude, ...flags]);
}

/** Sibling records under `<root>/cache/siblings/`, one JSON file per key, written atomically. */
export class SiblingRecords {
  private readonly dir: string;
  constructor(root: string) {
    this.dir = join(root, 'cache', 'siblings');
  }

  /** The record of a sibling key; undefined when there is none (or it is torn). */
  get(key: string): SiblingRecord | undefined {
    try {
      const r = JSON.parse(readFileSync(this.file(key), 'utf8')) as Partial<SiblingRecord>;
      return typeof r.chain === 'string' && r.files && typeof r.files === 'object' ? (r as SiblingRecord) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stores a record (last writer wins: any run's record is as good). */
  put(key: string, record: SiblingRecord): void {
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.file(key)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, JSON.stringify(record));
    renameSync(tmp, this.file(key));
  }

  private file(key: string): string {
    return join(this.dir, `${key.replace(/^sha256:/, '')}.json`);
  }
}

/** A previous run's files: its layer directory and what it wrote. */
export interface PreviousRun {
  dir: string;
  /** The hash recorded for a path in the layer (a Map will do). */
  files: { get(rel: string): string | undefined };
}

/** Counts of one copy (for tests and step logs). */
export interface ReuseCounts {
  linked: number;
  offered: number;
}

/**
 * The reuse of one COPY/ADD step: records what the step writes, and links from
 * the previous run when there is one. target() is called for each attempt (an
 * unmounted write may be redone mounted): what was noted before is dropped.
 */
export class CopyReuse {
  /** Hash by path of what the current attempt wrote (a plain object: it is stored as JSON as it is). */
  private files: Record<string, string> = Object.create(null) as Record<string, string>;
  counts: ReuseCounts = { linked: 0, offered: 0 };

  constructor(
    private readonly hashes: KnownHashes,
    private readonly previous?: PreviousRun,
  ) {}

  /**
   * The FileReuse of an attempt writing under `root` (an unmounted snapshot's upper, or a
   * mounted root); links only when `mayLink` (the upper is on the store's file system).
   */
  target(root: string, mayLink: boolean): FileReuse {
    this.files = Object.create(null) as Record<string, string>;
    this.counts = { linked: 0, offered: 0 };
    const prefix = root.endsWith('/') ? root : `${root}/`;
    const prev = mayLink ? this.previous : undefined;
    const linked = new Set<number>();
    return {
      place: (srcAbs, st, host, want, linkHere) => {
        if (!host.startsWith(prefix)) return false;
        const rel = host.slice(prefix.length);
        const hash = this.hashes.knownHash(srcAbs, st);
        if (hash === undefined) return false;
        this.files[rel] = hash;
        this.counts.offered++;
        if (!prev || !linkHere || prev.files.get(rel) !== hash) return false;
        const from = `${prev.dir}/${rel}`;
        const old = lstatSync(from, { throwIfNoEntry: false });
        // Two paths of this layer on one inode would be a tar hardlink where a copy writes two files.
        if (!old || !sameResult(old, st, want) || linked.has(old.ino)) return false;
        // The copy writes no xattrs; the tar would carry the old inode's.
        if (nativeFs().llistxattr(from).length > 0) return false;
        try {
          linkSync(from, host);
        } catch {
          return false; // pruned meanwhile, too many links, not allowed here: the copy writes it
        }
        linked.add(old.ino);
        this.counts.linked++;
        return true;
      },
    };
  }

  /** The record of the last attempt, for the snapshot `chain` it was committed as. */
  record(chain: `sha256:${string}`): SiblingRecord {
    return { chain, files: this.files };
  }
}

/**
 * Whether an existing inode is what the copy would write for source `st`: a regular file
 * of the same size, with the owner and mode wanted and the mtime the copy sets (the
 * source's `mtime` Date, whole milliseconds, rounded; a written time reads back within a microsecond).
 */
export function sameResult(old: Stats, st: Stats, want: { uid: number; gid: number; mode: number }): boolean {
  return old.isFile() && old.size === st.size && old.uid === want.uid && old.gid === want.gid &&
    (old.mode & 0o7777) === want.mode && Math.abs(old.mtimeMs - st.mtime.getTime()) < 0.5;
}

/** Options of openCopyReuse. */
export interface OpenReuseOptions {
  /** The store root (records under `<root>/cache/siblings/`). */
  root: string;
  /** The cache key of the state the step runs on. */
  parentKey: string;
  hashes: KnownHashes;
  /** Whether a previous run may be used (false under --no-cache: only record). */
  lookup: boolean;
  /** The snapshotter whose committed snapshots the previous run is in (chainLayers), if it has that. */
  layerDirs(): Promise<Partial<LayerDirs> | undefined>;
}

/** The reuse of a step, with its previous run when there is a usable one; undefined when the step does not copy from the context. */
export async function openCopyReuse(step: CopyInstruction | AddInstruction, o: OpenReuseOptions): Promise<{ reuse: CopyReuse; save(chain: `sha256:${string}`): void } | undefined> {
  if (!reusableStep(step)) return undefined;
  const key = siblingKey(o.parentKey, step);
  const records = new SiblingRecords(o.root);
  let previous: PreviousRun | undefined;
  const rec = o.lookup ? records.get(key) : undefined;
  if (rec) {
    try {
      const dirs = await o.layerDirs();
      const dir = dirs?.chainLayers?.(rec.chain)[0];
      // Looked up in the parsed object: no Map of 20,000 entries built for one lookup each.
      const files = rec.files;
      if (dir) previous = { dir, files: { get: (rel) => (Object.hasOwn(files, rel) ? files[rel] : undefined) } };
    } catch {
      // The snapshot was pruned: nothing to reuse.
    }
  }
  const reuse = new CopyReuse(o.hashes, previous);
  return { reuse, save: (chain) => records.put(key, reuse.record(chain)) };
}
