/** `rbuild info [--format json]`: what rbuild found on this machine and what it chose, with fixes. */
import { Command, Option } from 'commander';
import { collectInfo, formatInfo } from '../../sandbox/info.js';

/** Registers `rbuild info`. */
export function register(program: Command): void {
  program
    .command('info')
    .description('show what rootless building needs and what this machine has (with fixes)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { format: string }) => {
      const info = await collectInfo();
      process.stdout.write(opts.format === 'json' ? `${JSON.stringify(info, null, 2)}\n` : formatInfo(info));
    });
}
