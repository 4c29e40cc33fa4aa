/**
 * The client as the CLI and the builder want it: credentials from Docker's
 * config, mirrors and insecure hosts from the registries config, plus any
 * registries named insecure on the command line.
 */
import type { CiCredentialSource } from '../auth/ci-env.js';
import { createCredentialResolver } from '../auth/resolver.js';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from './client.js';
import { loadRegistriesConfig, type RegistriesConfig } from './registries-config.js';

/** Options for createDefaultClient. */
export interface DefaultClientOptions {
  /** `--registries-config` (default: $XDG_CONFIG_HOME/rbuild/registries.json). */
  registriesConfig?: string;
  /** Extra plain-HTTP registries (`--insecure-registry`, or the target of `--tls-verify=false`). */
  insecure?: readonly string[];
  /** `--authfile` (default: Docker's config.json lookup). */
  authFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Told (once per registry) when CI job variables supply a registry's credential. */
  onCiCredential?: (source: CiCredentialSource) => void;
  /** Passed through (retry tuning, onRetry, connections...). */
  client?: Omit<RegistryClientOptions, 'credentials' | 'mirrors' | 'insecure'>;
}

/** Creates a client from the user's configuration; `config` is what was loaded. */
export async function createDefaultClient(opts: DefaultClientOptions = {}): Promise<{ client: RegistryClient; config: RegistriesConfig }> {
  const config = await loadRegistriesConfig({
    ...(opts.registriesConfig !== undefined && { path: opts.registriesConfig }),
    ...(opts.env && { env: opts.env }),
  });
  const client = createRegistryClient({
    ...opts.client,
    credentials: createCredentialResolver({
      ...(opts.authFile !== undefined && { authFile: opts.authFile }),
      ...(opts.env && { env: opts.env }),
      ...(opts.onCiCredential && { onCiCredential: opts.onCiCredential }),
    }),
    mirrors: config.mirrors,
    insecure: [...config.insecure, ...(opts.insecure ?? [])],
  });
  return { client, config };
}
