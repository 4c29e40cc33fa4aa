/** `rbuild prune`: removes blobs no image (and no extra root, e.g. the build cache) references. */
import type { Command } from 'commander';
import type { Digest } from '../../../registry/oci/types.js';
import { prune } from '../../../registry/store/images.js';
import { humanSize } from './images.js';
import { action, storeFrom, withRoot } from './store-options.js';

/** Hooks for prune: what else keeps blobs alive (the build cache provides it). */
export interface PruneHooks {
  /** Blobs to keep besides the images', given the store root. */
  extraRoots?: (root: string) => Promise<Digest[]>;
  /** Drops the build cache (`--all`), so its layers can go too. */
  clearCache?: (root: string) => Promise<void>;
}

/** Registers `rbuild prune`. */
export function register(program: Command, hooks: PruneHooks = {}): void {
  withRoot(program.command('prune').description('Remove unreferenced blobs from the local store'))
    .option('-f, --force', 'do not prompt (rbuild never prompts; accepted for compatibility)')
    .option('-a, --all', 'also drop the build cache')
    .action(
      action(async (opts: { root?: string; all?: boolean }) => {
        const store = await storeFrom(opts);
        if (opts.all && hooks.clearCache) await hooks.clearCache(store.root);
        const extraRoots = hooks.extraRoots ? await hooks.extraRoots(store.root) : [];
        const res = await prune(store, { extraRoots });
        for (const d of res.removed) process.stdout.write(`deleted: ${d}\n`);
        process.stdout.write(`Total reclaimed space: ${humanSize(res.freedBytes)}\n`);
      }),
    );
}
