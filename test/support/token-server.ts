/**
 * A small token server for the real registry's `auth.token` mode: it issues
 * RS256 JWTs signed with a throwaway key whose self-signed certificate the
 * registry trusts (`rootcertbundle`); the cert rides in the JWT's `x5c` header.
 * Loopback only; test-owned.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

/** A running token server. */
export interface TokenServer {
  /** The realm URL the registry sends clients to. */
  realm: string;
  /** The `service` the tokens are issued for. */
  service: string;
  /** The `iss` claim. */
  issuer: string;
  /** PEM file of the signing certificate (for the registry's rootcertbundle). */
  certPath: string;
  /** Every token request seen (scope, account, whether credentials were good). */
  requests: Array<{ scope: string[]; account?: string; authorized: boolean; grant?: string }>;
  /** Makes the next `n` tokens already expired (beyond the registry's 60 s leeway), to force refreshes. */
  expireNext(n: number): void;
  stop(): Promise<void>;
}

/** Options for startTokenServer. */
export interface TokenServerOptions {
  /** username -> password accepted with Basic auth. */
  users?: Record<string, string>;
  /** Refresh tokens (identitytoken) accepted with the OAuth2 POST form, mapped to a username. */
  refreshTokens?: Record<string, string>;
  /** Whether anonymous clients get pull access (default true). */
  anonymousPull?: boolean;
  service?: string;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** Generates a key and a self-signed certificate with openssl in `dir`. */
function makeKeyAndCert(dir: string): { keyPem: string; certPath: string; certDer: Buffer } {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath,
      '-days', '2', '-subj', '/CN=rbuild-test-token-issuer'],
    { stdio: 'pipe' },
  );
  const certDer = Buffer.from(new X509Certificate(readFileSync(certPath)).raw);
  return { keyPem: readFileSync(keyPath, 'utf8'), certPath, certDer };
}

/** Starts the token server on a free loopback port. */
export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const dir = mkdtempSync(join(tmpdir(), 'rbuild-token-'));
  const { keyPem, certPath, certDer } = makeKeyAndCert(dir);
  const key = createPrivateKey(keyPem);
  const service = opts.service ?? 'rbuild-test-registry';
  const issuer = 'rbuild-test-issuer';
  const users = opts.users ?? {};
  const refreshTokens = opts.refreshTokens ?? {};
  const anonymousPull = opts.anonymousPull ?? true;
  const requests: TokenServer['requests'] = [];
  let expireCount = 0;

  const issue = (account: string | undefined, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    // The registry allows 60 s of clock skew; 10 minutes ago is surely expired.
    const exp = expireCount > 0 ? (expireCount--, now - 600) : now + 300;
    const access = scopes.flatMap((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop() ?? '';
      const name = rest.join(':');
      if (type !== 'repository') return [];
      const wanted = actions.split(',').filter(Boolean);
      const granted = account ? wanted : anonymousPull ? wanted.filter((a) => a === 'pull') : [];
      return granted.length ? [{ type, name, actions: granted }] : [];
    });
    const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer, sub: account ?? '', aud: service, exp, nbf: now - 10, iat: now,
      jti: randomBytes(8).toString('hex'), access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${signingInput}.${b64url(sign('sha256', Buffer.from(signingInput), key))}`;
  };

  const basicUser = (req: IncomingMessage): string | null | undefined => {
    const h = req.headers.authorization;
    if (!h) return undefined;
    if (!h.startsWith('Basic ')) return null;
    const [user, ...pw] = Buffer.from(h.slice(6), 'base64').toString().split(':');
    return user !== undefined && users[user] === pw.join(':') ? user : null;
  };

  const reply = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/token') return reply(res, 404, { error: 'not found' });
    if (req.method === 'GET') {
      const scope = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
      const user = basicUser(req);
      requests.push({ scope, ...(user && { account: user }), authorized: user !== null, grant: 'basic' });
      if (user === null) return reply(res, 401, { error: 'bad credentials' });
      const token = issue(user, scope);
      return reply(res, 200, { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
    }
    if (req.method === 'POST') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const scope = (form.get('scope') ?? '').split(' ').filter(Boolean);
        const rt = form.get('refresh_token') ?? '';
        const account = form.get('grant_type') === 'refresh_token' ? refreshTokens[rt] : undefined;
        requests.push({ scope, ...(account && { account }), authorized: !!account, grant: 'refresh_token' });
        if (!account) return reply(res, 401, { error: 'invalid_grant' });
        const token = issue(account, scope);
        reply(res, 200, { access_token: token, expires_in: 300, scope: scope.join(' '), refresh_token: rt });
      });
      return;
    }
    reply(res, 405, { error: 'method' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    expireNext(n) {
      expireCount = n;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
