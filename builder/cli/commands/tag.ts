/** `rbuild tag SRC DST`: another name for an image in the local store. */
import type { Command } from 'commander';
import { resolveImage } from '../../../registry/store/images.js';
import { normalizeName } from '../../../registry/store/normalize-name.js';
import { StoreError } from '../../../registry/store/store-error.js';
import { action, storeFrom, withRoot } from './store-options.js';

/** Registers `rbuild tag`. */
export function register(program: Command): void {
  withRoot(program.command('tag').description('Give an image another name').argument('<source>').argument('<target>')).action(
    action(async (source: string, target: string, opts: { root?: string }) => {
      const store = await storeFrom(opts);
      const dst = normalizeName(target);
      if (dst.includes('@')) throw new StoreError('INVALID_NAME', `cannot tag with a digest: ${target}`);
      // The index.json entry itself (an index stays an index), not the platform manifest.
      const img = await resolveImage(store, source);
      await store.tag(dst, img.descriptor);
    }),
  );
}
