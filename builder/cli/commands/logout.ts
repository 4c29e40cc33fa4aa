/** `rbuild logout [REGISTRY]`: remove saved credentials. */
import type { Command } from 'commander';
import { removeCredential } from '../../../registry/auth/resolver.js';
import { loginRegistry } from './login.js';
import { action } from './registry-flags.js';

/** Registers `logout`. */
export function register(program: Command): void {
  program
    .command('logout')
    .description('remove saved credentials for a registry')
    .argument('[registry]', 'registry host[:port] (default: docker.io)')
    .option('--authfile <file>', 'credentials file (default: $REGISTRY_AUTH_FILE or Docker\'s config.json)')
    .option('--debug', 'print stacks with errors')
    .action(
      action(async (arg: string | undefined, o: { authfile?: string }) => {
        const registry = loginRegistry(arg);
        const removed = await removeCredential(registry, o.authfile ? { authFile: o.authfile } : {});
        process.stdout.write(removed ? `Removing login credentials for ${registry}\n` : `Not logged in to ${registry}\n`);
      }),
    );
}
