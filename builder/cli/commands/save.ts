/** `rbuild save IMAGE... -o file.tar --format oci|docker`. */
import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { saveImage } from '../../../registry/archive/save-image.js';
import { parsePlatform } from '../../../registry/oci/platform.js';
import { StoreError } from '../../../registry/store/store-error.js';
import { action, storeFrom, withRoot } from './store-options.js';
import { ociArchivePublisher } from '../export-compression.js';

/** Registers `rbuild save`. */
export function register(program: Command): void {
  withRoot(program.command('save').description('Save images to a tar archive (to stdout without -o)').argument('<image...>'))
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--format <format>', '"docker" (docker-archive, the default) or "oci" (OCI archive)', 'docker')
    .option('--platform <os/arch[/variant]>', 'platform to save from multi-platform images')
    .action(
      action(async (images: string[], opts: { root?: string; output?: string; format: string; platform?: string }) => {
        if (opts.format !== 'oci' && opts.format !== 'docker' && opts.format !== 'docker-archive' && opts.format !== 'oci-archive') {
          throw new StoreError('INVALID_FORMAT', `unknown --format ${opts.format}: use "oci" or "docker"`);
        }
        const format = opts.format.startsWith('oci') ? 'oci' : 'docker';
        if (!opts.output && process.stdout.isTTY) {
          throw new StoreError('INVALID_OUTPUT', 'refusing to write an archive to a terminal; use -o FILE or redirect stdout');
        }
        const store = await storeFrom(opts);
        const platform = opts.platform ? parsePlatform(opts.platform) : undefined;
        const out = opts.output ? createWriteStream(opts.output, { highWaterMark: 1 << 20 }) : process.stdout;
        try {
          // OCI archives get compressed layers (builds store them uncompressed); docker-archives plain tars.
          const publish = format === 'oci' ? { publish: await ociArchivePublisher(store) } : {};
          await saveImage(store, images, out, format, { ...(platform ? { platform } : {}), ...publish });
        } catch (err) {
          if (opts.output) await rm(opts.output, { force: true });
          throw err;
        }
      }),
    );
}
