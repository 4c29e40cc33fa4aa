/** Which failures are worth retrying, and how long to wait. Pure logic. */

/**
 * HTTP statuses that are retried. Each is transient by definition; 501 (not
 * implemented) and 505 are not, so 5xx is listed rather than matched by range.
 */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([
  408, // Request Timeout: the server gave up waiting on us; a fresh attempt may be faster.
  429, // Too Many Requests: rate limited; wait (Retry-After) and try again.
  500, // Internal Server Error: registries return it for transient storage-backend faults.
  502, // Bad Gateway: a proxy/load balancer in front lost its backend for a moment.
  503, // Service Unavailable: overloaded or restarting.
  504, // Gateway Timeout: the proxy in front timed out on the backend.
]);

/** Network error codes that are retried: the connection broke, not the request. */
export const RETRYABLE_ERROR: ReadonlySet<string> = new Set([
  'ECONNRESET', // the peer or a middlebox reset the connection (common under load).
  'EPIPE', // we wrote on a connection the peer had already closed.
  'ETIMEDOUT', // the OS gave up on the TCP connection.
  'ECONNREFUSED', // a registry restarting behind a load balancer refuses briefly.
  'UND_ERR_SOCKET', // undici: the socket closed before the response was complete.
  'UND_ERR_CLOSED', // undici: the pooled connection was closed under the request.
  'UND_ERR_CONNECT_TIMEOUT', // undici: connect took too long.
  'UND_ERR_HEADERS_TIMEOUT', // undici: the server did not start answering in time.
  'UND_ERR_BODY_TIMEOUT', // undici: the body stalled.
  'ERR_STREAM_PREMATURE_CLOSE', // a body stream ended early (dropped mid-transfer).
]);

/** Retry tuning. */
export interface RetryOptions {
  /** Retries after the first attempt (default 5). */
  retries?: number;
  /** First backoff in ms (default 200); doubles each time. */
  baseDelayMs?: number;
  /** Longest single wait in ms, Retry-After included (default 30 s). */
  maxDelayMs?: number;
}

/** Defaults for RetryOptions. */
export const DEFAULT_RETRY: Required<RetryOptions> = { retries: 5, baseDelayMs: 200, maxDelayMs: 30_000 };

/** The network error code of an error or its causes, if any. */
export function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_ERROR.has(code)) return code;
  }
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Whether a thrown error is a transient network failure. */
export function isRetryableError(err: unknown): boolean {
  const code = networkCode(err);
  return code !== undefined && RETRYABLE_ERROR.has(code);
}

/** Milliseconds to wait from a Retry-After header (seconds or HTTP date), if present and sane. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** Backoff before retry number `attempt` (0-based): exponential with full jitter, or Retry-After. */
export function backoffDelay(
  attempt: number,
  opts: Required<RetryOptions>,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, opts.maxDelayMs);
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** attempt);
  // Full jitter: spreads retries of parallel uploads so they do not hit the registry in lockstep.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
