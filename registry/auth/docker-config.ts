/**
 * Docker's credential file (`~/.docker/config.json`, `$DOCKER_CONFIG/config.json`,
 * or containers' `$REGISTRY_AUTH_FILE`): where it is, how its keys name
 * registries, and reading/writing it as Docker does (other keys preserved).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** One `auths` entry. */
export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  [k: string]: unknown;
}

/** The parts of config.json rbuild reads; other keys are kept as they are. */
export interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [k: string]: unknown;
}

/** The key Docker uses for Docker Hub in config.json. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/** Thrown for an unreadable or malformed config file. */
export class AuthConfigError extends Error {
  readonly code = 'AUTH_CONFIG';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'AuthConfigError';
  }
}

/** The config file path: REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, 'config.json');
  return join(env.HOME || homedir(), '.docker', 'config.json');
}

/** The config.json key for a registry name, as `docker login` writes it. */
export function configKey(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_KEY : registry;
}

/** Whether a registry name means Docker Hub. */
export function isDockerHub(registry: string): boolean {
  return ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'].includes(registry);
}

/** Reduces a config key (`https://host:5000/v2/`, `host`) to host[:port], as Docker's ConvertToHostname. */
export function keyToHost(key: string): string {
  let s = key.replace(/^https?:\/\//, '');
  s = s.split('/')[0]!;
  return isDockerHub(s) ? 'docker.io' : s;
}

/** Reads the config file; an absent file is an empty config. */
export async function readDockerConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new AuthConfigError(`cannot read ${path}: ${(err as Error).message}`, err);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as DockerConfig;
  } catch (err) {
    throw new AuthConfigError(`${path} is not valid JSON: ${(err as Error).message}`, err);
  }
}

/** Writes the config file atomically with mode 0600 (it holds secrets). */
export async function writeDockerConfig(path: string, config: DockerConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(config, null, '\t') + '\n', { mode: 0o600 });
  await rename(tmp, path);
}

/** The `auths` entry for a registry, matching keys written as URLs too. */
export function findAuthEntry(config: DockerConfig, registry: string): { key: string; entry: AuthEntry } | undefined {
  const auths = config.auths ?? {};
  const exact = configKey(registry);
  if (auths[exact]) return { key: exact, entry: auths[exact] };
  const host = isDockerHub(registry) ? 'docker.io' : registry;
  for (const [key, entry] of Object.entries(auths)) if (keyToHost(key) === host) return { key, entry };
  return undefined;
}

/** The credential helper configured for a registry (credHelpers first, then credsStore). */
export function helperFor(config: DockerConfig, registry: string): string | undefined {
  const helpers = config.credHelpers ?? {};
  const host = isDockerHub(registry) ? 'docker.io' : registry;
  for (const [key, name] of Object.entries(helpers)) if (keyToHost(key) === host) return name;
  return config.credsStore || undefined;
}
