/**
 * The registries config (`$XDG_CONFIG_HOME/rbuild/registries.json`, or
 * `--registries-config`): mirrors tried first for pulls, and registries
 * reached over plain HTTP. Unknown keys are refused so typos do not pass silently.
 *
 *   { "mirrors": { "docker.io": ["mirror.local:5000"] }, "insecure": ["reg.lan:5000"] }
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What the config holds. */
export interface RegistriesConfig {
  /** registry -> mirrors tried in order before it, for pulls. */
  mirrors: Record<string, string[]>;
  /** Registries (host or host:port) reached over plain HTTP. */
  insecure: string[];
}

/** A config file that cannot be used; the message names the file and the key. */
export class RegistriesConfigError extends Error {
  readonly code = 'REGISTRIES_CONFIG';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'RegistriesConfigError';
  }
}

/** The default path: $XDG_CONFIG_HOME/rbuild/registries.json (~/.config when unset). */
export function registriesConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'rbuild', 'registries.json');
}

const HOST = /^(?:[a-zA-Z0-9.-]+|\[[0-9a-fA-F:]+\])(?::\d+)?$/;

/** Checks parsed JSON and returns the config. */
export function parseRegistriesConfig(value: unknown, source = 'registries config'): RegistriesConfig {
  const fail = (msg: string): never => {
    throw new RegistriesConfigError(`${source}: ${msg}`);
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail('must be a JSON object');
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'mirrors' && k !== 'insecure') fail(`unknown key ${JSON.stringify(k)} (expected "mirrors", "insecure")`);
  const mirrors: Record<string, string[]> = {};
  if (o.mirrors !== undefined) {
    if (!o.mirrors || typeof o.mirrors !== 'object' || Array.isArray(o.mirrors)) fail('"mirrors" must be an object of registry -> [mirror, ...]');
    for (const [reg, list] of Object.entries(o.mirrors as Record<string, unknown>)) {
      if (!HOST.test(reg)) fail(`mirrors: ${JSON.stringify(reg)} is not a registry host[:port]`);
      if (!Array.isArray(list) || list.some((m) => typeof m !== 'string' || !HOST.test(m))) {
        fail(`mirrors.${reg} must be a list of host[:port] strings`);
      }
      mirrors[reg === 'index.docker.io' ? 'docker.io' : reg] = list as string[];
    }
  }
  let insecure: string[] = [];
  if (o.insecure !== undefined) {
    if (!Array.isArray(o.insecure) || o.insecure.some((h) => typeof h !== 'string' || !HOST.test(h))) {
      fail('"insecure" must be a list of host[:port] strings');
    }
    insecure = o.insecure as string[];
  }
  return { mirrors, insecure };
}

/** Loads the config from `path` (default location when absent); a missing default file is an empty config. */
export async function loadRegistriesConfig(opts: { path?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RegistriesConfig> {
  const path = opts.path ?? registriesConfigPath(opts.env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !opts.path) return { mirrors: {}, insecure: [] };
    throw new RegistriesConfigError(`cannot read ${path}: ${(err as Error).message}`, err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RegistriesConfigError(`${path} is not valid JSON: ${(err as Error).message}`, err);
  }
  return parseRegistriesConfig(parsed, path);
}
