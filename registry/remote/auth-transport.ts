/**
 * The auth layer: answers Basic and Bearer challenges, caches tokens per
 * registry and scope set, and on a 401 with a cached token (expired or
 * revoked mid-push) drops it, fetches a fresh one and replays the request.
 */
import { parseChallenges, scopeKey, type Challenge } from './challenge.js';
import { RegistryError } from './errors.js';
import { readLimited, replayable, type HttpRequest, type HttpResponse, type Send } from './transport.js';

/** Credentials for one registry (never logged). */
export interface Credential {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (Docker's `identitytoken`). */
  identityToken?: string;
  /** A bearer token to send as is (`registrytoken`). */
  registryToken?: string;
}

/** Looks up the credentials for a registry name (`docker.io`, `127.0.0.1:5000`). */
export type CredentialSource = (registry: string) => Promise<Credential | undefined>;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** The auth layer's state, shared by every request of one client. */
export class Authenticator {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();
  private readonly creds = new Map<string, Promise<Credential | undefined>>();

  constructor(
    private readonly credentials: CredentialSource,
    /** Sends token requests (should include retry, not auth). */
    private readonly send: Send,
    private readonly clientId = 'rbuild',
  ) {}

  /** Wraps a sender with this authenticator. */
  layer(next: Send): Send {
    return async (req) => {
      const host = new URL(req.url).host;
      let auth = await this.authorization(host, req);
      let res = await next(withAuth(req, auth));
      // Up to two fresh authorizations: the first answers a new challenge (or replaces a
      // token that expired mid-push), the second replaces a token refused as soon as issued.
      for (let round = 0; round < 2 && res.status === 401 && replayable(req.body); round++) {
        const challenge = pickChallenge(res.headers['www-authenticate']);
        if (!challenge) return res;
        this.challenges.set(host, challenge);
        // The token we sent was refused (expired, revoked, or scope too narrow): forget it.
        // Only if it is still the cached one: a parallel request may already have replaced it.
        if (challenge.scheme === 'bearer') {
          const key = this.tokenKey(host, req, challenge);
          if (auth !== undefined && auth === `Bearer ${this.tokens.get(key)?.token}`) this.tokens.delete(key);
        }
        let fresh: string | undefined;
        try {
          fresh = await this.authorization(host, req);
        } catch (err) {
          res.body.resume();
          throw err;
        }
        // Nothing new to offer (no credentials, or the same ones refused): the 401 stands.
        if (fresh === undefined || fresh === auth) return res;
        res.body.resume();
        auth = fresh;
        res = await next(withAuth(req, auth));
      }
      return res;
    };
  }

  /** The Authorization header for a request, if the registry's challenge is known. */
  private async authorization(host: string, req: HttpRequest): Promise<string | undefined> {
    const challenge = this.challenges.get(host);
    if (!challenge) return undefined;
    const cred = await this.credential(req.registry);
    if (challenge.scheme === 'basic') {
      if (cred?.username === undefined || cred.password === undefined) return undefined;
      return 'Basic ' + Buffer.from(`${cred.username}:${cred.password}`).toString('base64');
    }
    if (challenge.scheme !== 'bearer') return undefined;
    if (cred?.registryToken) return `Bearer ${cred.registryToken}`;
    const key = this.tokenKey(host, req, challenge);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    let p = this.pending.get(key);
    if (!p) {
      p = this.fetchToken(req, challenge, cred).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    const t = await p;
    this.tokens.set(key, t);
    return `Bearer ${t.token}`;
  }

  private tokenKey(host: string, req: HttpRequest, challenge: Challenge): string {
    return `${host} ${scopeKey(scopesFor(req, challenge))}`;
  }

  private credential(registry: string): Promise<Credential | undefined> {
    let p = this.creds.get(registry);
    if (!p) {
      p = this.credentials(registry);
      this.creds.set(registry, p);
    }
    return p;
  }

  /** Asks the challenge's realm for a token (OAuth2 refresh-token POST, or GET with Basic). */
  private async fetchToken(req: HttpRequest, ch: Challenge, cred: Credential | undefined): Promise<CachedToken> {
    const realm = ch.params.realm;
    const fail = (detail: string, status?: number, cause?: unknown): never => {
      throw new RegistryError({
        code: 'UNAUTHORIZED',
        action: 'getting a token',
        registry: req.registry,
        ...(status !== undefined && { status }),
        detail,
        hint: `check your credentials for ${req.registry} (rbuild login ${req.registry})`,
        cause,
      });
    };
    if (!realm) return fail('the Bearer challenge names no realm');
    const scopes = scopesFor(req, ch);
    let res: HttpResponse;
    try {
      if (cred?.identityToken) {
        const form = new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: cred.identityToken,
          client_id: this.clientId,
          ...(ch.params.service && { service: ch.params.service }),
          ...(scopes.length && { scope: scopes.join(' ') }),
        });
        res = await this.send({
          method: 'POST',
          url: realm,
          registry: req.registry,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
          ...(req.signal && { signal: req.signal }),
        });
      } else {
        const url = new URL(realm);
        if (ch.params.service) url.searchParams.set('service', ch.params.service);
        for (const s of scopes) url.searchParams.append('scope', s);
        const headers: Record<string, string> = {};
        if (cred?.username !== undefined && cred.password !== undefined) {
          headers.authorization = 'Basic ' + Buffer.from(`${cred.username}:${cred.password}`).toString('base64');
          url.searchParams.set('account', cred.username);
        }
        res = await this.send({
          method: 'GET',
          url: url.href,
          registry: req.registry,
          headers,
          ...(req.signal && { signal: req.signal }),
        });
      }
    } catch (err) {
      return fail(`token request failed: ${(err as Error).message}`, undefined, err);
    }
    const text = (await readLimited(res.body, 1 << 20)).toString('utf8');
    if (res.status !== 200) return fail(`the token server refused (${res.status})`, res.status);
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = JSON.parse(text) as typeof body;
    } catch (err) {
      return fail('the token server answered with something that is not JSON', res.status, err);
    }
    const token = body.token ?? body.access_token;
    if (!token) return fail('the token server answered without a token', res.status);
    // The spec's default lifetime is 60 s; keep a margin so a token does not expire in flight.
    const lifetime = Math.max(10, body.expires_in ?? 60);
    return { token, expiresAt: Date.now() + (lifetime - 5) * 1000 };
  }
}

function withAuth(req: HttpRequest, authorization: string | undefined): HttpRequest {
  if (!authorization) return req;
  return { ...req, headers: { ...req.headers, authorization } };
}

/** Bearer preferred over Basic when a registry offers both. */
function pickChallenge(header: string | string[] | undefined): Challenge | undefined {
  const all = parseChallenges(header);
  return all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
}

/** The scopes a request needs: its own plus the one the registry asked for. */
function scopesFor(req: HttpRequest, ch: Challenge): string[] {
  const s = new Set(req.scopes ?? []);
  if (ch.params.scope) for (const x of ch.params.scope.split(' ')) if (x) s.add(x);
  return [...s].sort();
}
