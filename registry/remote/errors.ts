/** The one error class of the registry client, with what a user needs to act on it. */
import type { Digest } from '../oci/types.js';

/** Fields of a RegistryError. */
export interface RegistryErrorInit {
  /** Stable code: the registry's error code (BLOB_UNKNOWN, UNAUTHORIZED, ...) or ours (NETWORK, DIGEST_MISMATCH, ...). */
  code: string;
  /** What rbuild was doing: `pushing sha256:ab12…`, `pulling docker.io/library/busybox:latest`. */
  action: string;
  /** host[:port] of the registry. */
  registry: string;
  /** HTTP status, when the registry answered. */
  status?: number;
  /** Status text or the registry's own message. */
  detail?: string;
  repository?: string;
  digest?: Digest;
  /** What to check. */
  hint?: string;
  /** How many times the request was retried before giving up. */
  retries?: number;
  cause?: unknown;
}

/** A registry operation that failed; the message never holds credentials. */
export class RegistryError extends Error {
  readonly code: string;
  readonly action: string;
  readonly registry: string;
  readonly status: number | undefined;
  readonly repository: string | undefined;
  readonly digest: Digest | undefined;
  readonly hint: string | undefined;
  readonly retries: number;
  readonly detail: string | undefined;
  constructor(init: RegistryErrorInit) {
    const what = oneLine(init.status !== undefined ? `${init.status} ${init.detail ?? ''}`.trim() : (init.detail ?? init.code));
    const retried = init.retries ? ` (retried ${init.retries} time${init.retries === 1 ? '' : 's'})` : '';
    // The hint stays out of the message: the CLI prints it on its own line.
    super(`${init.action}: ${what} from ${init.registry}${retried}`, {
      cause: init.cause,
    });
    this.name = 'RegistryError';
    this.code = init.code;
    this.action = init.action;
    this.registry = init.registry;
    this.status = init.status;
    this.repository = init.repository;
    this.digest = init.digest;
    this.hint = init.hint;
    this.retries = init.retries ?? 0;
    this.detail = init.detail;
  }

  /** The same error, saying how many times it was retried. */
  withRetries(retries: number): RegistryError {
    return new RegistryError({
      code: this.code, action: this.action, registry: this.registry, retries,
      ...(this.status !== undefined && { status: this.status }),
      ...(this.detail !== undefined && { detail: this.detail }),
      ...(this.repository !== undefined && { repository: this.repository }),
      ...(this.digest !== undefined && { digest: this.digest }),
      ...(this.hint !== undefined && { hint: this.hint }),
      cause: this.cause,
    });
  }
}

/**
 * A detail fit for the one error line: OpenSSL's `<id>:error:<code>:<lib>:<func>:<reason>:<file>:<line>:`
 * reduced to its reason, and line breaks (OpenSSL ends its messages with one) folded into spaces.
 */
export function oneLine(detail: string): string {
  return detail
    .replace(/\b[0-9A-F]{8,}:error:[0-9A-F]+:[^:\n]*:[^:\n]*:([^:\n]+):[^\s]*/g, '$1')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

/** A short digest for messages: `sha256:ab12cd34ef56…`. */
export function shortDigest(d: string): string {
  const [alg, hex] = d.split(':');
  return hex && hex.length > 12 ? `${alg}:${hex.slice(0, 12)}…` : d;
}

/** The hint for a status code: what the user should check. */
export function hintForStatus(status: number, registry: string): string | undefined {
  if (status === 401) return `check your credentials for ${registry} (rbuild login ${registry})`;
  if (status === 403) return `your account may lack access to this repository on ${registry}`;
  if (status === 404) return 'check the repository name and tag, and that you have access to it';
  if (status === 429) return `${registry} is rate-limiting you: wait, log in for a higher limit, or use a mirror`;
  if (status === 413) return `${registry} refused the size of the upload; check its body size limits (a proxy in front?)`;
  if (status >= 500) return `${registry} is failing; check its status and logs, and try again later`;
  return undefined;
}

/** The hint for a network error code. */
export function hintForNetwork(code: string | undefined, registry: string): string {
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve ${registry}: check the name and your DNS`;
  if (code === 'ECONNREFUSED') return `nothing is listening at ${registry}: check the host and port`;
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return `${registry} may speak plain HTTP: mark it insecure (--tls-verify=false or the registries config)`;
  }
  return `check your network connection to ${registry}`;
}
