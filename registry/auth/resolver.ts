/**
 * The credential resolver: for a registry name, the credentials Docker would
 * use (credHelpers, then credsStore, then `auths`), and login/logout that
 * write them where Docker would.
 */
import type { Credential } from '../remote/auth-transport.js';
import { ciCredential, type CiCredentialSource } from './ci-env.js';
import { helperErase, helperGet, helperStore } from './cred-helper.js';
import {
  AuthConfigError,
  configKey,
  configPath,
  findAuthEntry,
  helperFor,
  readDockerConfig,
  writeDockerConfig,
  type AuthEntry,
} from './docker-config.js';

/** Options for the resolver and login/logout. */
export interface AuthOptions {
  /** Environment to read DOCKER_CONFIG / REGISTRY_AUTH_FILE / HOME from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** An explicit config file (`--authfile`). */
  authFile?: string;
  /** Told when a CI job's variables supply the credential (the fallback after Docker's config). */
  onCiCredential?: (source: CiCredentialSource) => void;
  signal?: AbortSignal;
}

/** Docker's marker username meaning "the secret is an identity token". */
const TOKEN_USER = '<token>';

function pathOf(opts: AuthOptions): string {
  return opts.authFile ?? configPath(opts.env);
}

/** Decodes an `auths` entry into a credential. */
export function decodeAuthEntry(entry: AuthEntry): Credential | undefined {
  let username = entry.username;
  let password = entry.password;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw new AuthConfigError('an "auth" entry is not base64 of user:password');
    username = decoded.slice(0, i);
    password = decoded.slice(i + 1);
  }
  if (entry.identitytoken) return { ...(username && { username }), identityToken: entry.identitytoken };
  if (entry.registrytoken) return { registryToken: entry.registrytoken };
  if (username !== undefined && password !== undefined && (username || password)) return { username, password };
  return undefined;
}

/** Resolves credentials for a registry name; undefined means anonymous. */
export async function resolveCredential(registry: string, opts: AuthOptions = {}): Promise<Credential | undefined> {
  const config = await readDockerConfig(pathOf(opts));
  const helper = helperFor(config, registry);
  if (helper) {
    const got = await helperGet(helper, configKey(registry), opts.signal);
    if (got) {
      return got.Username === TOKEN_USER ? { identityToken: got.Secret } : { username: got.Username, password: got.Secret };
    }
  }
  const found = findAuthEntry(config, registry);
  const saved = found ? decodeAuthEntry(found.entry) : undefined;
  if (saved) return saved;
  // Last: a CI job's own variables, so a pipeline pushes with no login step.
  const ci = ciCredential(registry, opts.env ?? process.env);
  if (!ci) return undefined;
  opts.onCiCredential?.(ci.source);
  return ci.credential;
}

/** A CredentialSource for createRegistryClient that reads Docker's config, then CI variables. */
export function createCredentialResolver(opts: AuthOptions = {}): (registry: string) => Promise<Credential | undefined> {
  // The resolver runs for every token fetch; tell about a CI credential once per registry.
  const told = new Set<string>();
  const onCiCredential = opts.onCiCredential;
  const once = onCiCredential && ((s: CiCredentialSource) => {
    if (told.has(s.registry)) return;
    told.add(s.registry);
    onCiCredential(s);
  });
  return (registry) => resolveCredential(registry, { ...opts, ...(once && { onCiCredential: once }) });
}

/** Saves credentials as `docker login` does: with the helper if one is configured, else in `auths`. Returns where. */
export async function saveCredential(registry: string, username: string, password: string, opts: AuthOptions = {}): Promise<string> {
  const path = pathOf(opts);
  const config = await readDockerConfig(path);
  const key = configKey(registry);
  const helper = helperFor(config, registry);
  if (helper) {
    await helperStore(helper, { ServerURL: key, Username: username, Secret: password }, opts.signal);
    // Docker leaves an empty auths entry so `docker logout` and listing still see the registry.
    config.auths = { ...config.auths, [key]: {} };
    await writeDockerConfig(path, config);
    return `docker-credential-${helper}`;
  }
  config.auths = { ...config.auths, [key]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  await writeDockerConfig(path, config);
  return path;
}

/** Removes saved credentials; returns whether any were there. */
export async function removeCredential(registry: string, opts: AuthOptions = {}): Promise<boolean> {
  const path = pathOf(opts);
  const config = await readDockerConfig(path);
  const helper = helperFor(config, registry);
  if (helper) await helperErase(helper, configKey(registry), opts.signal);
  const found = findAuthEntry(config, registry);
  if (!found) return helper !== undefined;
  const auths = { ...config.auths };
  delete auths[found.key];
  config.auths = auths;
  await writeDockerConfig(path, config);
  return true;
}
