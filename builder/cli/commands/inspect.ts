/** `rbuild inspect IMAGE...`: an image's manifest and config as JSON. */
import type { Command } from 'commander';
import { resolveImage } from '../../../registry/store/images.js';
import { parsePlatform } from '../../../registry/oci/platform.js';
import { action, reportError, storeFrom, withRoot } from './store-options.js';

/** Registers `rbuild inspect`. */
export function register(program: Command): void {
  withRoot(program.command('inspect').description('Show the manifest and config of images as JSON').argument('<image...>'))
    .option('--platform <os/arch[/variant]>', 'platform to show from a multi-platform image')
    .action(
      action(async (images: string[], opts: { root?: string; platform?: string }) => {
        const store = await storeFrom(opts);
        const platform = opts.platform ? parsePlatform(opts.platform) : undefined;
        const out: unknown[] = [];
        for (const ref of images) {
          try {
            const img = await resolveImage(store, ref, platform ? { platform } : {});
            out.push({
              Name: img.name ?? null,
              Id: img.configDescriptor.digest,
              Digest: img.descriptor.digest,
              ManifestDescriptor: img.manifestDescriptor,
              Manifest: img.manifest,
              Config: img.config,
              ...(img.index ? { Index: img.index } : {}),
            });
          } catch (err) {
            reportError(err);
          }
        }
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      }),
    );
}
