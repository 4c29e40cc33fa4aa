/** `rbuild rmi NAME...`: removes names (or all names of an image ID); blobs go with `rbuild prune`. */
import type { Command } from 'commander';
import { removeImage } from '../../../registry/store/images.js';
import { action, reportError, storeFrom, withRoot } from './store-options.js';

/** Registers `rbuild rmi`. */
export function register(program: Command): void {
  withRoot(program.command('rmi').description('Remove images from the local store').argument('<image...>'))
    .option('-f, --force', 'accepted for compatibility (removal by ID always removes every name)')
    .action(
      action(async (images: string[], opts: { root?: string }) => {
        const store = await storeFrom(opts);
        for (const ref of images) {
          try {
            for (const n of await removeImage(store, ref)) process.stdout.write(`Untagged: ${n}\n`);
          } catch (err) {
            reportError(err);
          }
        }
      }),
    );
}
