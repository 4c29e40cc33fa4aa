/** `rbuild load -i file.tar`: loads an OCI archive or docker-archive (from stdin without -i). */
import type { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { loadArchive } from '../../../registry/archive/load-archive.js';
import { action, storeFrom, withRoot } from './store-options.js';

/** Registers `rbuild load`. */
export function register(program: Command): void {
  withRoot(program.command('load').description('Load images from a tar archive (OCI or docker-archive, gzip ok)'))
    .option('-i, --input <file>', 'read from a file instead of stdin')
    .option('-q, --quiet', 'print nothing')
    .action(
      action(async (opts: { root?: string; input?: string; quiet?: boolean }) => {
        const store = await storeFrom(opts);
        const input = opts.input ? createReadStream(opts.input) : process.stdin;
        const res = await loadArchive(store, input);
        if (opts.quiet) return;
        for (const img of res.images) {
          if (img.names.length === 0) process.stdout.write(`Loaded image ID: ${img.descriptor.digest}\n`);
          for (const n of img.names) process.stdout.write(`Loaded image: ${n}\n`);
        }
      }),
    );
}
