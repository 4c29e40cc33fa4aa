/**
 * The build cache: what each instruction produced, keyed by a digest of
 * everything that can change its result (the parent's key, the expanded
 * instruction, the build args it sees, the content of the files it reads).
 * One small JSON file per key under `<root>/cache/steps/`, written atomically,
 * so concurrent builds share it safely and a crash never leaves a torn record.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageConfig } from '../../registry/oci/types.js';
import { sha256Hex } from '../../registry/oci/sha256.js';

/** A layer as the build state tracks it. */
export interface LayerRef {
  mediaType: string;
  digest: `sha256:${string}`;
  size: number;
  diffId: `sha256:${string}`;
}

/** The state of a stage after an instruction: its config and its layers. */
export interface CacheRecord {
  config: ImageConfig;
  layers: LayerRef[];
}

/** A cache key: sha256 over a canonical JSON array of its parts. */
export function cacheKey(parent: string, kind: string, parts: unknown): string {
  return `sha256:${sha256Hex(JSON.stringify([parent, kind, parts]))}`;
}

/** A second source of records (an imported remote cache); its hits have their blobs in the store. */
export interface CacheFallback {
  get(key: string): Promise<CacheRecord | undefined>;
}

/** The build cache in a store root. */
export class BuildCache {
  private readonly dir: string;
  /** Every record this build hit or stored, for --cache-to. */
  readonly touched = new Map<string, CacheRecord>();
  /** Consulted on a local miss (--cache-from); its hits are stored locally too. */
  fallback?: CacheFallback;
  constructor(
    root: string,
    private readonly disabled = false,
    /** Whether a blob is still in the store: a record whose layers were pruned is a miss. */
    private readonly hasBlob: (digest: `sha256:${string}`) => Promise<boolean> = async () => true,
  ) {
    this.dir = join(root, 'cache', 'steps');
  }

  /** The record for a key, or undefined on a miss (or when the cache is disabled). */
  async get(key: string): Promise<CacheRecord | undefined> {
    if (this.disabled) return undefined;
    const rec = (await this.local(key)) ?? (await this.remote(key));
    if (rec) this.touched.set(key, rec);
    return rec;
  }

  private async local(key: string): Promise<CacheRecord | undefined> {
    let rec: CacheRecord;
    try {
      // Synchronous: a record is a few hundred bytes, and a rebuild reads one per step in a row.
      rec = JSON.parse(readFileSync(this.file(key), 'utf8')) as CacheRecord;
    } catch {
      return undefined;
    }
    for (const l of rec.layers) if (!(await this.hasBlob(l.digest))) return undefined;
    return rec;
  }

  private async remote(key: string): Promise<CacheRecord | undefined> {
    const rec = await this.fallback?.get(key);
    // Stored locally so the re-run inside the build namespace (and the next build) hits without the network.
    if (rec) await this.write(key, rec);
    return rec;
  }

  /** Stores a record (atomically; last writer wins, both are equivalent). */
  async put(key: string, record: CacheRecord): Promise<void> {
    this.touched.set(key, record);
    await this.write(key, record);
  }

  private async write(key: string, record: CacheRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.file(key)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, JSON.stringify(record));
    await rename(tmp, this.file(key));
  }

  private file(key: string): string {
    return join(this.dir, `${key.replace(/^sha256:/, '')}.json`);
  }
}

/** Every layer blob the build cache refers to (prune keeps them unless the cache is dropped). */
export async function cacheReferencedBlobs(root: string): Promise<Array<`sha256:${string}`>> {
  const { readdir } = await import('node:fs/promises');
  const dir = join(root, 'cache', 'steps');
  const out = new Set<`sha256:${string}`>();
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    try {
      const rec = JSON.parse(await readFile(join(dir, n), 'utf8')) as CacheRecord;
      for (const l of rec.layers) out.add(l.digest);
    } catch {
      // A torn or foreign file is not a record.
    }
  }
  return [...out];
}

/** Drops every build cache record (the layers then go with the next prune). */
export async function clearBuildCache(root: string): Promise<void> {
  const { rm } = await import('node:fs/promises');
  await rm(join(root, 'cache', 'steps'), { recursive: true, force: true });
  await rm(join(root, 'cache', 'siblings'), { recursive: true, force: true });
  await rm(join(root, 'cache', 'context-hashes.json'), { force: true });
  await rm(join(root, 'cache', 'context-hashes'), { recursive: true, force: true });
}

/** Every snapshot chain ID the build cache's records stand on (prune keeps those snapshots). */
export async function cacheReferencedChains(root: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const { chainIds } = await import('../../snapshotter/chain-id.js');
  const dir = join(root, 'cache', 'steps');
  const out = new Set<string>();
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    if (!n.endsWith('.json')) continue;
    try {
      const rec = JSON.parse(await readFile(join(dir, n), 'utf8')) as CacheRecord;
      for (const c of chainIds(rec.layers.map((l) => l.diffId))) out.add(c);
    } catch {
      // A torn or foreign file is not a record.
    }
  }
  return [...out];
}
