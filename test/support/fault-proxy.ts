/**
 * A fault-injecting HTTP proxy for tests, in front of a real registry on
 * loopback: answers with 5xx/429, drops connections (before answering or in
 * the middle of a body), slows responses, redirects, corrupts or replaces
 * bodies. Every rule fires a bounded number of times; it only forwards to
 * loopback targets.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What to do to a matching request. */
export type Fault =
  /** Answer with this status (and Retry-After, and other headers such as an auth challenge) without forwarding. */
  | { kind: 'status'; status: number; retryAfter?: number; headers?: Record<string, string> }
  /** Close the connection without answering. */
  | { kind: 'drop' }
  /** Forward, but cut the connection after `afterBytes` of the request body (uploads) or response body (downloads). */
  | { kind: 'drop-mid-body'; afterBytes: number }
  /** Wait before forwarding (bounded by the test's own delays). */
  | { kind: 'slow'; delayMs: number }
  /** Answer with a redirect to `location`. */
  | { kind: 'redirect'; location: string; status?: number }
  /** Forward, flipping one byte of the response body. */
  | { kind: 'corrupt' }
  /** Forward, adding these headers to the registry's answer (e.g. OCI-Chunk-Min-Length). */
  | { kind: 'add-headers'; headers: Record<string, string> }
  /** Answer 200 with this body instead of forwarding. */
  | { kind: 'body'; body: Buffer; contentType?: string };

/** A rule: which requests, what fault, how many times. */
export interface FaultRule {
  method?: string;
  path?: RegExp;
  fault: Fault;
  /** Only requests whose Content-Length is above this (a proxy's body size limit). */
  bodyOver?: number;
  /** Fires this many times, then never again. */
  times: number;
}

/** A running proxy. */
export interface FaultProxy {
  /** host:port of the proxy (use it as the registry). */
  host: string;
  /** Adds a rule (checked after earlier ones). */
  add(rule: FaultRule): void;
  /** Removes all rules. */
  clear(): void;
  /** Requests seen, with the fault applied if any. */
  log: Array<{ method: string; path: string; fault?: Fault['kind']; authorization: boolean; status?: number; range?: string; contentRange?: string }>;
  stop(): Promise<void>;
}

function assertLoopback(target: string): void {
  const host = target.startsWith('[') ? target.slice(1, target.indexOf(']')) : target.split(':')[0]!;
  if (!(host === 'localhost' || host.startsWith('127.') || host === '::1')) {
    throw new Error(`fault proxy forwards to loopback only, not ${target}`);
  }
}

/** Starts a proxy on a free 127.0.0.1 port forwarding to `target` (host:port). */
export async function startFaultProxy(target: string, rules: FaultRule[] = []): Promise<FaultProxy> {
  assertLoopback(target);
  const [targetHost, targetPort] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const active: FaultRule[] = [...rules];
  const log: FaultProxy['log'] = [];
  const sockets = new Set<Socket>();

  const take = (req: IncomingMessage): Fault | undefined => {
    const path = req.url ?? '/';
    for (const r of active) {
      if (r.times <= 0) continue;
      if (r.method && r.method !== req.method) continue;
      if (r.path && !r.path.test(path)) continue;
      if (r.bodyOver !== undefined && !(Number(req.headers['content-length'] ?? 0) > r.bodyOver)) continue;
      r.times--;
      return r.fault;
    }
    return undefined;
  };

  const forward = (req: IncomingMessage, res: ServerResponse, fault: Fault | undefined): void => {
    const upstream = httpRequest(
      { host: targetHost, port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        if (fault?.kind === 'corrupt') {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => {
            const body = Buffer.concat(chunks);
            if (body.length > 0) body[body.length >> 1]! ^= 0xff;
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(body);
          });
          return;
        }
        res.writeHead(up.statusCode ?? 502, { ...up.headers, ...(fault?.kind === 'add-headers' && fault.headers) });
        if (fault?.kind === 'drop-mid-body' && req.method === 'GET') {
          let sent = 0;
          up.on('data', (c: Buffer) => {
            if (sent >= fault.afterBytes) return;
            const part = c.subarray(0, fault.afterBytes - sent);
            sent += part.length;
            res.write(part);
            if (sent >= fault.afterBytes) {
              // Let the partial bytes leave, then cut the connection.
              res.socket?.end(() => res.socket?.destroy());
              up.destroy();
            }
          });
          up.on('end', () => res.end());
          return;
        }
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    if (fault?.kind === 'drop-mid-body' && req.method !== 'GET') {
      let sent = 0;
      req.on('data', (c: Buffer) => {
        if (sent >= fault.afterBytes) return;
        const part = c.subarray(0, fault.afterBytes - sent);
        sent += part.length;
        upstream.write(part);
        if (sent >= fault.afterBytes) {
          // The registry sees a client that vanished mid-upload; the client sees a reset.
          setTimeout(() => {
            upstream.destroy();
            req.socket.destroy();
          }, 20);
        }
      });
      req.on('end', () => upstream.end());
      return;
    }
    req.pipe(upstream);
  };

  const server: Server = createServer((req, res) => {
    const fault = take(req);
    const entry: FaultProxy['log'][number] = { method: req.method ?? '', path: req.url ?? '', ...(fault && { fault: fault.kind }), authorization: !!req.headers.authorization, ...(req.headers['content-range'] && { contentRange: req.headers['content-range'] }) };
    log.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
      const range = res.getHeader('range');
      if (typeof range === 'string') entry.range = range;
    });
    if (!fault || fault.kind === 'drop-mid-body' || fault.kind === 'corrupt' || fault.kind === 'add-headers') return forward(req, res, fault);
    switch (fault.kind) {
      case 'status':
        req.resume();
        res.writeHead(fault.status, {
          'content-type': 'application/json',
          ...(fault.retryAfter !== undefined && { 'retry-after': String(fault.retryAfter) }),
          ...fault.headers,
        });
        res.end(JSON.stringify({ errors: [{ code: 'INJECTED', message: `injected ${fault.status}` }] }));
        return;
      case 'drop':
        req.socket.destroy();
        return;
      case 'slow':
        setTimeout(() => forward(req, res, undefined), fault.delayMs);
        return;
      case 'redirect':
        req.resume();
        res.writeHead(fault.status ?? 307, { location: fault.location });
        res.end();
        return;
      case 'body':
        req.resume();
        res.writeHead(200, { 'content-type': fault.contentType ?? 'application/vnd.oci.image.manifest.v1+json', 'content-length': fault.body.length });
        res.end(fault.body);
        return;
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    add: (r) => void active.push(r),
    clear: () => void active.splice(0),
    log,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
