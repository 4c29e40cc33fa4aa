/**
 * The HTTP transport, built from small layers stacked around one undici Agent
 * (as go-containerregistry stacks RoundTrippers): base -> user agent ->
 * redirects -> auth -> retry. Each layer is `Send -> Send`.
 */
import { Readable } from 'node:stream';
import { undiciCore, type Agent } from './undici-core.js';
import { RegistryError } from './errors.js';
import { backoffDelay, DEFAULT_RETRY, isRetryableError, parseRetryAfter, RETRYABLE_STATUS, type RetryOptions } from './retry-policy.js';

/** A request body: bytes, or a factory that opens a fresh stream (so the request can be replayed). */
export type Body = Uint8Array | string | (() => Readable | Promise<Readable>);

/** One HTTP request to a registry. */
export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  /** The registry name the request is for (credential lookup, errors). */
  registry: string;
  headers?: Record<string, string>;
  body?: Body;
  /** Token scopes the request needs (`repository:a/b:pull`). */
  scopes?: readonly string[];
  /** Follow 3xx redirects (blob downloads). */
  followRedirects?: boolean;
  signal?: AbortSignal;
}

/** A response; `body` must be consumed or dumped. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  /** The URL that answered (after redirects). */
  url: string;
  /** Retries spent before this response. */
  retries: number;
}

/** A request sender; layers wrap one another. */
export type Send = (req: HttpRequest) => Promise<HttpResponse>;

/** A network failure after the retries ran out. */
export class TransportError extends Error {
  readonly code: string;
  constructor(
    message: string,
    code: string,
    readonly retries: number,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'TransportError';
    this.code = code;
  }
}

/** Whether a request body can be sent again. */
export function replayable(body: Body | undefined): boolean {
  return body === undefined || typeof body !== 'object' || body instanceof Uint8Array || typeof body === 'function';
}

/** Options of the connection pool. */
export interface AgentOptions {
  /** Connections per origin (default 8: parallel uploads plus manifests). */
  connections?: number;
  /** Header/body inactivity timeouts in ms (default 60 s / 5 min). */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

/** A keep-alive connection pool. */
export function createAgent(opts: AgentOptions = {}): Agent {
  return new undiciCore.Agent({
    connections: opts.connections ?? 8,
    keepAliveTimeout: 30_000,
    headersTimeout: opts.headersTimeoutMs ?? 60_000,
    bodyTimeout: opts.bodyTimeoutMs ?? 300_000,
    connect: { timeout: 30_000 },
  });
}

/** The innermost layer: one HTTP exchange on the agent. */
export function baseSend(agent: Agent): Send {
  return async (req) => {
    const body = typeof req.body === 'function' ? await req.body() : req.body;
    const res = await undiciCore.request(agent, req.url, {
      method: req.method,
      headers: req.headers ?? {},
      body: body ?? null,
      signal: req.signal ?? null,
      // undici closes the connection after every HEAD (for servers that wrongly send a body);
      // registries answer HEAD correctly, and a push is mostly HEADs: keep the socket.
      ...(req.method === 'HEAD' && { reset: false }),
    });
    return {
      status: res.statusCode,
      headers: res.headers as HttpResponse['headers'],
      body: res.body as unknown as Readable,
      url: req.url,
      retries: 0,
    };
  };
}

/** Adds the User-Agent header. */
export function withUserAgent(next: Send, userAgent: string): Send {
  return (req) => next({ ...req, headers: { 'user-agent': userAgent, ...req.headers } });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Follows redirects when asked (blob downloads go to storage backends/CDNs).
 * When the origin changes, Authorization is dropped: the credentials were for
 * the registry, not for wherever it points us.
 */
export function withRedirects(next: Send, max = 5): Send {
  return async (req) => {
    let current = req;
    for (let hop = 0; ; hop++) {
      const res = await next(current);
      const location = res.headers.location;
      if (!current.followRedirects || !REDIRECTS.has(res.status) || typeof location !== 'string' || hop >= max) {
        return res;
      }
      res.body.resume();
      const target = new URL(location, current.url);
      const headers = { ...current.headers };
      if (target.origin !== new URL(current.url).origin) delete headers.authorization;
      current = {
        ...current,
        url: target.href,
        headers,
        ...(res.status === 303 && { method: 'GET' as const, body: undefined }),
      };
    }
  };
}

/** Event reported before a retry. */
export interface RetryEvent {
  url: string;
  attempt: number;
  delayMs: number;
  status?: number;
  code?: string;
}

/** Sleeps, waking early (with an AbortError) on abort. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Retries transient failures (RETRYABLE_STATUS, RETRYABLE_ERROR) with
 * exponential backoff and jitter, honouring Retry-After. A request whose body
 * is a one-shot stream is not retried. After the last retry, the last response
 * is returned (with `retries` set) or a TransportError is thrown.
 */
export function withRetry(next: Send, options: RetryOptions = {}, onRetry?: (e: RetryEvent) => void): Send {
  const opts = { ...DEFAULT_RETRY, ...options };
  return async (req) => {
    const canRetry = replayable(req.body);
    for (let attempt = 0; ; attempt++) {
      const last = !canRetry || attempt >= opts.retries;
      let res: HttpResponse;
      try {
        res = await next(req);
      } catch (err) {
        // Aborts and the auth layer's own errors (already explained) pass through as they are.
        if (req.signal?.aborted || err instanceof RegistryError) throw err;
        if (last || !isRetryableError(err)) {
          const code = (err as { code?: string }).code ?? 'NETWORK';
          throw new TransportError((err as Error).message, code, attempt, err);
        }
        const delayMs = backoffDelay(attempt, opts);
        onRetry?.({ url: req.url, attempt: attempt + 1, delayMs, code: (err as { code?: string }).code ?? 'NETWORK' });
        await sleep(delayMs, req.signal);
        continue;
      }
      if (last || !RETRYABLE_STATUS.has(res.status)) return { ...res, retries: attempt };
      res.body.resume();
      const delayMs = backoffDelay(attempt, opts, parseRetryAfter(res.headers['retry-after']));
      onRetry?.({ url: req.url, attempt: attempt + 1, delayMs, status: res.status });
      await sleep(delayMs, req.signal);
    }
  };
}

/** Reads a response body fully, refusing more than `limit` bytes. */
export async function readLimited(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += (chunk as Buffer).length;
    if (n > limit) {
      body.destroy();
      throw Object.assign(new Error(`body larger than ${limit} bytes`), { code: 'TOO_LARGE' });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Turns bytes or an iterable into a Readable (helper for callers). */
export function toReadable(data: Uint8Array | AsyncIterable<Uint8Array>): Readable {
  return data instanceof Uint8Array ? Readable.from([data]) : Readable.from(data);
}
