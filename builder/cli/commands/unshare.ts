/** `rbuild unshare [-- CMD...]`: runs a command (default $SHELL) in rbuild's user and mount namespace, like `buildah unshare`. */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { enterBuildNamespace } from './build-namespace.js';

/** Registers `rbuild unshare`. */
export function register(program: Command): void {
  program
    .command('unshare')
    .description("run a command (default: $SHELL) as root of rbuild's user namespace, to inspect or delete the store")
    .argument('[command...]', 'command and arguments')
    .allowUnknownOption()
    .action(async (command: string[]) => {
      if (!(await enterBuildNamespace())) return;
      const argv = command.length > 0 ? command : [process.env.SHELL || '/bin/sh'];
      const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
      // The command owns the terminal; we only wait for it.
      const ignore = (): void => {};
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, ignore);
      process.exitCode = await new Promise<number>((resolve) => {
        child.once('error', (err) => {
          process.stderr.write(`rbuild unshare: ${argv[0]}: ${err.message}\n`);
          resolve(127);
        });
        child.once('exit', (code, sig) => resolve(code ?? 128 + (sig ? osSignal(sig) : 0)));
      });
    });
}

function osSignal(sig: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[sig] ?? 0;
}
