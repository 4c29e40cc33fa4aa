/** Flags shared by pull, push, login and logout, and running their actions with the CLI's error output. */
import type { Command } from 'commander';
import { exitCodeFor, formatError } from '../errors.js';

/** The parsed shared flags. */
export interface RegistryFlags {
  tlsVerify?: boolean;
  insecureRegistry?: string[];
  registriesConfig?: string;
  authfile?: string;
  debug?: boolean;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** Adds --tls-verify, --insecure-registry, --registries-config, --authfile and --debug. */
export function addRegistryFlags(cmd: Command): Command {
  return cmd
    .option('--tls-verify <bool>', 'require HTTPS for the registry (false allows plain HTTP)', (v) => v !== 'false', true)
    .option('--insecure-registry <host>', 'reach this registry over plain HTTP (repeatable)', collect, [])
    .option('--registries-config <file>', 'mirrors and insecure registries (default: $XDG_CONFIG_HOME/rbuild/registries.json)')
    .option('--authfile <file>', 'credentials file (default: $REGISTRY_AUTH_FILE or Docker\'s config.json)')
    .option('--debug', 'print stacks with errors');
}

/** Registries to reach over plain HTTP for this command. */
export function insecureFor(flags: RegistryFlags, registry: string): string[] {
  return [...(flags.insecureRegistry ?? []), ...(flags.tlsVerify === false ? [registry] : [])];
}

/** Runs an action: errors print as `error: ...` + `hint: ...` and set the exit code (the library never prints). */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const flags = args.find((a) => a && typeof a === 'object' && !Array.isArray(a) && 'debug' in (a as object)) as RegistryFlags | undefined;
      process.stderr.write(`${formatError(err, !!flags?.debug)}\n`);
      process.exitCode = exitCodeFor(err);
    }
  };
}

/** With --debug, a line per retry (URL without its query, which may hold upload state; never credentials). */
export function retryLogger(flags: RegistryFlags): ((e: { url: string; attempt: number; delayMs: number; status?: number; code?: string }) => void) | undefined {
  if (!flags.debug) return undefined;
  return (e) => {
    const u = new URL(e.url);
    process.stderr.write(`debug: retry ${e.attempt} of ${u.host}${u.pathname} after ${e.status ?? e.code} in ${e.delayMs} ms\n`);
  };
}
