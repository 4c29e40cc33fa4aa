/** `rbuild login [REGISTRY] -u USER --password-stdin`: check credentials with the registry, then save them as docker does. */
import type { Command } from 'commander';
import { saveCredential } from '../../../registry/auth/resolver.js';
import { createRegistryClient } from '../../../registry/remote/client.js';
import { loadRegistriesConfig } from '../../../registry/remote/registries-config.js';
import { UsageError } from '../errors.js';
import { action, addRegistryFlags, insecureFor, type RegistryFlags } from './registry-flags.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  // Like docker: strip the trailing newline(s) of `echo pw | rbuild login --password-stdin`.
  return Buffer.concat(chunks).toString('utf8').replace(/[\r\n]+$/, '');
}

/** A registry name as given to login (`https://host/v2/` and `index.docker.io` accepted). */
export function loginRegistry(arg: string | undefined): string {
  if (!arg) return 'docker.io';
  const host = arg.replace(/^https?:\/\//, '').split('/')[0]!;
  return ['index.docker.io', 'registry-1.docker.io'].includes(host) ? 'docker.io' : host;
}

/** Registers `login`. */
export function register(program: Command): void {
  addRegistryFlags(
    program
      .command('login')
      .description('log in to a registry (saves credentials where docker login does)')
      .argument('[registry]', 'registry host[:port] (default: docker.io)')
      .option('-u, --username <user>', 'username')
      .option('-p, --password <password>', 'password (prefer --password-stdin: arguments are visible to other users)')
      .option('--password-stdin', 'read the password from standard input'),
  ).action(
    action(async (arg: string | undefined, o: RegistryFlags & { username?: string; password?: string; passwordStdin?: boolean }) => {
      const registry = loginRegistry(arg);
      if (!o.username) throw new UsageError('login needs --username', 'rbuild login REGISTRY -u USER --password-stdin');
      if (o.password !== undefined && o.passwordStdin) throw new UsageError('--password and --password-stdin are mutually exclusive');
      const password = o.passwordStdin ? await readStdin() : o.password;
      if (!password) throw new UsageError('login needs a password', 'pipe it in with --password-stdin');
      if (o.password !== undefined) process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      const config = await loadRegistriesConfig(o.registriesConfig ? { path: o.registriesConfig } : {});
      const client = createRegistryClient({
        credentials: async () => ({ username: o.username!, password }),
        insecure: [...config.insecure, ...insecureFor(o, registry)],
        retry: { retries: 2 },
      });
      try {
        await client.checkLogin(registry);
      } finally {
        await client.close();
      }
      const where = await saveCredential(registry, o.username, password, o.authfile ? { authFile: o.authfile } : {});
      process.stderr.write(`Credentials saved in ${where}\n`);
      process.stdout.write('Login Succeeded\n');
    }),
  );
}
