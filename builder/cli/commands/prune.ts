/**
 * `rbuild prune`: removes blobs no image (and no extra root, e.g. the build cache) references, and
 * the unpacked snapshots no image or cache record stands on. Snapshot files belong to the build
 * namespace's ids, so with snapshots to look at the command re-runs itself inside that namespace.
 */
import type { Command } from 'commander';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../../../registry/oci/types.js';
import { loadImage, prune } from '../../../registry/store/images.js';
import { humanSize } from './images.js';
import { action, storeFrom, withRoot } from './store-options.js';

/** Hooks for prune: what else keeps blobs and snapshots alive (the build cache provides it). */
export interface PruneHooks {
  /** Blobs to keep besides the images', given the store root. */
  extraRoots?: (root: string) => Promise<Digest[]>;
  /** Snapshot chain IDs to keep besides the images', given the store root. */
  extraChains?: (root: string) => Promise<string[]>;
  /** Drops the build cache (`--all`), so its layers can go too. */
  clearCache?: (root: string) => Promise<void>;
}

/** Registers `rbuild prune`. */
export function register(program: Command, hooks: PruneHooks = {}): void {
  withRoot(program.command('prune').description('Remove unreferenced blobs and snapshots from the local store'))
    .option('-f, --force', 'do not prompt (rbuild never prompts; accepted for compatibility)')
    .option('-a, --all', 'also drop the build cache')
    .action(
      action(async (opts: { root?: string; all?: boolean }) => {
        const store = await storeFrom(opts);
        const chainsDir = join(store.root, 'snapshots', 'by-chain');
        const snapshots = existsSync(chainsDir) && readdirSync(chainsDir).length > 0;
        if (snapshots) {
          const { currentNamespace, ensureBuildNamespace } = await import('../../sandbox/userns.js');
          if (!currentNamespace()) {
            const r = await ensureBuildNamespace();
            if (r.kind === 'exited') process.exitCode = r.code;
            return;
          }
        }
        const start = Date.now();
        if (opts.all && hooks.clearCache) await hooks.clearCache(store.root);
        const extraRoots = hooks.extraRoots ? await hooks.extraRoots(store.root) : [];
        // Compressed forms of kept layers (made by a push) stay too: a later push reuses them.
        extraRoots.push(...(await compressedFormsOf(store, extraRoots)));
        const res = await prune(store, { extraRoots });
        for (const d of res.removed) process.stdout.write(`deleted: ${d}\n`);
        if (snapshots) {
          const keep = new Set(hooks.extraChains ? await hooks.extraChains(store.root) : []);
          for (const c of await imageChains(store)) keep.add(c);
          const { SnapshotStore } = await import('../../../snapshotter/store.js');
          const { copyDriver } = await import('../../../snapshotter/drivers/copy.js');
          // Pruning mounts nothing: any driver's store is the same on disk.
          const removed = await new SnapshotStore(store.root, copyDriver).prune(keep, start);
          for (const c of removed) process.stdout.write(`deleted snapshot: ${c}\n`);
        }
        process.stdout.write(`Total reclaimed space: ${humanSize(res.freedBytes)}\n`);
      }),
    );
}

/** The remembered compressed blobs of the images' layers and of `more` (uncompressed layers' digests are their diff IDs). */
async function compressedFormsOf(store: Awaited<ReturnType<typeof storeFrom>>, more: readonly string[]): Promise<Digest[]> {
  const { CompressedBlobs, compressedBlobsDir } = await import('../../../registry/store/compressed-blobs.js');
  const diffIds = new Set(more);
  for (const d of await store.entries()) {
    try {
      for (const id of (await loadImage(store, d)).config.rootfs.diff_ids) diffIds.add(id);
    } catch {
      // another platform's image or a foreign entry
    }
  }
  return new CompressedBlobs(store, compressedBlobsDir(store.root), store.tmpDir).rememberedFor(diffIds);
}

/** The chain IDs of every image in the store (each layer's, so every prefix of each image stays). */
async function imageChains(store: Awaited<ReturnType<typeof storeFrom>>): Promise<string[]> {
  const { chainIds } = await import('../../../snapshotter/chain-id.js');
  const out: string[] = [];
  for (const d of await store.entries()) {
    try {
      const img = await loadImage(store, d);
      out.push(...chainIds(img.config.rootfs.diff_ids as Array<`sha256:${string}`>));
    } catch {
      // another platform's image or a foreign entry: it has no snapshots here
    }
  }
  return out;
}
