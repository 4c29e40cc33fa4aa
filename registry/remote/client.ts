/**
 * The registry client: the OCI distribution API calls rbuild needs (manifests,
 * blobs, uploads, mounts) over the layered transport. It never prints; retries
 * and progress are reported through callbacks.
 */
import { createHash } from 'node:crypto';
import { pipeline, Readable, Transform } from 'node:stream';
import type { Agent } from './undici-core.js';
import type { Descriptor, Digest } from '../oci/types.js';
import { formatReference, type Reference } from '../reference.js';
import { Authenticator, type CredentialSource } from './auth-transport.js';
import { bodyChunks } from './body-chunks.js';
import { repositoryScope } from './challenge.js';
import { registryBaseUrl } from './endpoint.js';
import { hintForNetwork, hintForStatus, RegistryError, shortDigest } from './errors.js';
import type { RetryOptions } from './retry-policy.js';
import { DEFAULT_RETRY, backoffDelay, isRetryableError, RETRYABLE_STATUS } from './retry-policy.js';
import {
  baseSend,
  createAgent,
  readLimited,
  sleep,
  TransportError,
  withRedirects,
  withRetry,
  withUserAgent,
  type HttpRequest,
  type HttpResponse,
  type RetryEvent,
  type Send,
} from './transport.js';

/** A repository on a registry (a Reference fits). */
export interface Repo {
  readonly registry: string;
  readonly repository: string;
}

/** Manifest media types rbuild accepts, best first. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
] as const;

/** Largest manifest rbuild reads (the distribution registry's own limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 << 20;

/** Options for createRegistryClient. */
export interface RegistryClientOptions {
  /** Credentials per registry name (default: anonymous). */
  credentials?: CredentialSource;
  /** Registries reached over plain HTTP besides loopback ones (host or host:port). */
  insecure?: readonly string[];
  /** registry -> mirror registries tried first for pulls (`docker.io` -> [`127.0.0.1:5000`]). */
  mirrors?: Readonly<Record<string, readonly string[]>>;
  userAgent?: string;
  retry?: RetryOptions;
  /** Called before each retry (for --debug output; never holds credentials). */
  onRetry?: (e: RetryEvent) => void;
  /** Largest manifest accepted (default 4 MiB). */
  maxManifestBytes?: number;
  /** Connections per registry (default 8). */
  connections?: number;
}

/** A manifest as fetched: exact bytes, media type and verified digest. */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
  /** Where it was found (a mirror, or the reference's own registry). */
  source: Repo;
}

/** Progress of one blob transfer. */
export interface BlobProgress {
  digest: Digest;
  done: number;
  total: number;
}

/** Options for uploadBlob. */
export interface UploadOptions {
  signal?: AbortSignal;
  onProgress?: (p: BlobProgress) => void;
  /** Blobs up to this size go in one PUT (default MONOLITHIC_MAX). */
  monolithicMax?: number;
  /** PATCH chunk size for bigger blobs (default CHUNK_SIZE; raised to the registry's OCI-Chunk-Min-Length). */
  chunkSize?: number;
  /** An upload session to use (e.g. the one a refused mount opened). */
  location?: string;
}

/** Options for openBlob. */
export interface OpenBlobOptions {
  signal?: AbortSignal;
  onProgress?: (p: BlobProgress) => void;
  /**
   * Hash the bytes and fail the stream on a digest mismatch (default true). Pull turns it
   * off because the ContentStore verifies the digest on write anyway (hashing twice costs
   * about a second per GiB); sizes are always checked here.
   */
  verify?: boolean;
}

/**
 * Blobs up to this size are sent in one PUT, as containerd and Docker send every blob:
 * the fewest round trips. Bigger ones go in PATCHes, so a failure resumes from the offset
 * the registry acknowledges instead of sending the blob again.
 */
export const MONOLITHIC_MAX = 128 << 20;
/**
 * Chunk size of chunked uploads. Large on purpose: every PATCH costs a round trip, and the
 * distribution registry fsyncs the upload when each request ends, stalling that blob's stream
 * while the disk writes (measured: a 512 MiB blob in 64 MiB chunks made the push of
 * bench/push-pull.ts ~1.4x slower than one PATCH). Docker, skopeo and containerd send each blob
 * in one request, so registries take big requests; proxies that do not answer 413, and the
 * chunk is halved (see CHUNK_MIN). A failed PATCH still resumes from the registry's Range.
 */
export const CHUNK_SIZE = 1 << 30;
/** The smallest chunk a 413 (Payload Too Large) halves down to: S3's multipart part minimum. */
export const CHUNK_MIN = 5 << 20;

/** Opens the bytes [start, end) of a blob being pushed. */
export type OpenRange = (start: number, end: number) => Readable | Promise<Readable>;

/** The registry operations used by pull and push. */
export interface RegistryClient {
  /** Fetches a manifest by tag or digest; verifies its digest and size limit. Tries mirrors first. */
  getManifest(ref: Reference, opts?: { accept?: readonly string[]; signal?: AbortSignal }): Promise<FetchedManifest>;
  /** HEADs a manifest: its descriptor, or undefined when absent. */
  headManifest(ref: Reference, signal?: AbortSignal): Promise<Descriptor | undefined>;
  /** PUTs a manifest under the reference's tag (or digest); returns the digest. */
  putManifest(ref: Reference, bytes: Uint8Array, mediaType: string, signal?: AbortSignal): Promise<Digest>;
  /** Whether the repository has a blob (HEAD). */
  hasBlob(repo: Repo, digest: Digest, signal?: AbortSignal): Promise<boolean>;
  /** A stream of a blob, verified against its digest and size, resuming with Range after a dropped connection. */
  openBlob(repo: Repo, desc: Pick<Descriptor, 'digest' | 'size'>, opts?: OpenBlobOptions): Readable;
  /** Tries a cross-repository mount; true if mounted, else an upload location the registry opened instead. */
  mountBlob(repo: Repo, digest: Digest, from: string, signal?: AbortSignal): Promise<true | string | undefined>;
  /** Uploads a blob (monolithic or chunked with resume). */
  uploadBlob(repo: Repo, desc: Pick<Descriptor, 'digest' | 'size'>, open: OpenRange, opts?: UploadOptions): Promise<void>;
  /** Checks that the registry answers and the credentials work (for login). */
  checkLogin(registry: string, signal?: AbortSignal): Promise<void>;
  /** Closes the connection pool. */
  close(): Promise<void>;
}

/** Creates a client with its own connection pool. */
export function createRegistryClient(opts: RegistryClientOptions = {}): RegistryClient {
  return new Client(opts);
}

const USER_AGENT = 'rbuild/0.1.0';

class Client implements RegistryClient {
  private readonly agent: Agent;
  /** Retried, authenticated, redirect-following sender. */
  private readonly send: Send;
  /** Authenticated but not retried: for upload bodies that must not be replayed blindly. */
  private readonly sendOnce: Send;
  private readonly retry: Required<RetryOptions>;
  private readonly maxManifest: number;

  constructor(private readonly opts: RegistryClientOptions) {
    this.agent = createAgent({ ...(opts.connections !== undefined && { connections: opts.connections }) });
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.maxManifest = opts.maxManifestBytes ?? MAX_MANIFEST_BYTES;
    const plain = withUserAgent(baseSend(this.agent), opts.userAgent ?? USER_AGENT);
    const tokenSend = withRetry(plain, this.retry, opts.onRetry);
    const auth = new Authenticator(opts.credentials ?? (async () => undefined), tokenSend);
    const authed = auth.layer(withRedirects(plain));
    this.send = withRetry(authed, this.retry, opts.onRetry);
    this.sendOnce = authed;
  }

  private url(repo: Repo, path: string): string {
    return `${registryBaseUrl(repo.registry, this.opts.insecure)}/v2/${repo.repository}/${path}`;
  }

  /** Sends with retries; network failures become RegistryErrors labelled with `action`. */
  private async call(action: string, req: HttpRequest, ctx: Partial<Pick<RegistryError, 'repository' | 'digest'>> = {}, once = false): Promise<HttpResponse> {
    try {
      return await (once ? this.sendOnce : this.send)(req);
    } catch (err) {
      if (err instanceof RegistryError || req.signal?.aborted) throw err;
      const code = (err as { code?: string }).code;
      throw new RegistryError({
        code: 'NETWORK',
        action,
        registry: req.registry,
        detail: `${code ?? 'network error'}: ${(err as Error).message}`,
        retries: err instanceof TransportError ? err.retries : 0,
        hint: hintForNetwork(code, req.registry),
        ...ctx,
        cause: err,
      });
    }
  }

  /** Builds the error for an unexpected status, with the registry's own error code when it sent one. */
  private async statusError(action: string, res: HttpResponse, repo: Repo, digest?: Digest): Promise<RegistryError> {
    let code = `HTTP_${res.status}`;
    let detail = STATUS_TEXT[res.status] ?? '';
    try {
      const text = (await readLimited(res.body, 64 * 1024)).toString('utf8');
      const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
      const first = body.errors?.[0];
      if (first?.code) code = first.code;
      if (first?.message) detail = `${detail} (${first.message})`.trim();
    } catch {
      // Not a JSON error body; the status says enough.
    }
    if (res.status === 401) code = 'UNAUTHORIZED';
    if (res.status === 429) code = 'TOOMANYREQUESTS';
    // Push reads blobs from the local store without hashing them again (the store verified them on
    // write); the registry hashes what it receives, so a blob damaged on disk since comes back as this.
    const hint = code === 'DIGEST_INVALID'
      ? 'the blob sent does not hash to its digest: the local copy is damaged; remove the image, run rbuild prune, then pull or build it again'
      : hintForStatus(res.status, repo.registry);
    return new RegistryError({
      code,
      action,
      registry: repo.registry,
      status: res.status,
      detail,
      repository: repo.repository,
      ...(digest && { digest }),
      ...(hint && { hint }),
      retries: res.retries,
    });
  }

  async getManifest(ref: Reference, o: { accept?: readonly string[]; signal?: AbortSignal } = {}): Promise<FetchedManifest> {
    const candidates: Repo[] = [
      ...(this.opts.mirrors?.[ref.registry] ?? []).map((m) => ({ registry: m, repository: ref.repository })),
      { registry: ref.registry, repository: ref.repository },
    ];
    let lastErr: unknown;
    for (const repo of candidates) {
      try {
        return await this.getManifestFrom(repo, ref, o);
      } catch (err) {
        // A mirror that lacks the image or is down: fall through to the next, then the origin.
        lastErr = err;
        if (o.signal?.aborted) throw err;
      }
    }
    throw lastErr;
  }

  private async getManifestFrom(repo: Repo, ref: Reference, o: { accept?: readonly string[]; signal?: AbortSignal }): Promise<FetchedManifest> {
    const target = ref.digest ?? ref.tag ?? 'latest';
    const action = `pulling ${formatReference(ref)}`;
    const res = await this.call(action, {
      method: 'GET',
      url: this.url(repo, `manifests/${target}`),
      registry: repo.registry,
      headers: { accept: (o.accept ?? MANIFEST_ACCEPT).join(', ') },
      scopes: [repositoryScope(repo.repository, ['pull'])],
      ...(o.signal && { signal: o.signal }),
    }, { repository: repo.repository });
    if (res.status !== 200) throw await this.statusError(action, res, repo, ref.digest);
    const declared = Number(res.headers['content-length']);
    if (declared > this.maxManifest) {
      res.body.destroy();
      throw this.tooLarge(action, repo, declared);
    }
    let bytes: Buffer;
    try {
      bytes = await readLimited(res.body, this.maxManifest);
    } catch (err) {
      if ((err as { code?: string }).code === 'TOO_LARGE') throw this.tooLarge(action, repo);
      throw this.networkError(action, repo, err);
    }
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    // verify digest: by digest against the reference; by tag against the header the registry sent.
    const expected = ref.digest ?? headerDigest(res.headers['docker-content-digest']);
    if (expected && expected.startsWith('sha256:') && expected !== digest) {
      throw new RegistryError({
        code: 'DIGEST_MISMATCH',
        action,
        registry: repo.registry,
        repository: repo.repository,
        digest: expected,
        detail: `manifest content hashes to ${shortDigest(digest)}, not ${shortDigest(expected)}`,
        hint: `${repo.registry} (or something between it and you) served content that does not match its digest`,
      });
    }
    const ctype = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    let mediaType = ctype;
    try {
      const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: string };
      if (parsed.mediaType) mediaType = parsed.mediaType;
    } catch {
      // Validation of the body is the caller's; keep the header's type.
    }
    return { bytes, mediaType, digest, source: repo };
  }

  private tooLarge(action: string, repo: Repo, size?: number): RegistryError {
    return new RegistryError({
      code: 'MANIFEST_TOO_LARGE',
      action,
      registry: repo.registry,
      repository: repo.repository,
      detail: `manifest is larger than ${this.maxManifest} bytes${size ? ` (${size})` : ''}`,
      hint: 'a manifest that large is not an image manifest; check the reference',
    });
  }

  private networkError(action: string, repo: Repo, err: unknown, digest?: Digest): RegistryError {
    const code = (err as { code?: string }).code;
    return new RegistryError({
      code: 'NETWORK',
      action,
      registry: repo.registry,
      repository: repo.repository,
      ...(digest && { digest }),
      detail: `${code ?? 'error'}: ${(err as Error).message}`,
      hint: hintForNetwork(code, repo.registry),
      cause: err,
    });
  }

  async headManifest(ref: Reference, signal?: AbortSignal): Promise<Descriptor | undefined> {
    const action = `checking ${formatReference(ref)}`;
    const res = await this.call(action, {
      method: 'HEAD',
      url: this.url(ref, `manifests/${ref.digest ?? ref.tag ?? 'latest'}`),
      registry: ref.registry,
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
      scopes: [repositoryScope(ref.repository, ['pull'])],
      ...(signal && { signal }),
    });
    res.body.resume();
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await this.statusError(action, res, ref);
    const digest = headerDigest(res.headers['docker-content-digest']);
    if (!digest) return undefined;
    return {
      mediaType: String(res.headers['content-type'] ?? '').split(';')[0]!,
      digest,
      size: Number(res.headers['content-length'] ?? 0),
    };
  }

  async putManifest(ref: Reference, bytes: Uint8Array, mediaType: string, signal?: AbortSignal): Promise<Digest> {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    const action = `pushing manifest ${formatReference(ref)}`;
    const res = await this.call(action, {
      method: 'PUT',
      url: this.url(ref, `manifests/${ref.tag ?? ref.digest ?? digest}`),
      registry: ref.registry,
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
      body: bytes,
      scopes: [repositoryScope(ref.repository, ['pull', 'push'])],
      ...(signal && { signal }),
    }, { repository: ref.repository, digest });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await this.statusError(action, res, ref, digest);
    res.body.resume();
    const echoed = headerDigest(res.headers['docker-content-digest']);
    if (echoed && echoed !== digest) {
      throw new RegistryError({
        code: 'DIGEST_MISMATCH', action, registry: ref.registry, repository: ref.repository, digest,
        detail: `registry stored the manifest as ${shortDigest(echoed)}`,
        hint: 'the registry rewrote the manifest; it may not support this media type',
      });
    }
    return digest;
  }

  async hasBlob(repo: Repo, digest: Digest, signal?: AbortSignal): Promise<boolean> {
    const action = `pushing ${shortDigest(digest)}`; // HEAD is the first step of pushing a blob
    const res = await this.call(action, {
      method: 'HEAD',
      url: this.url(repo, `blobs/${digest}`),
      registry: repo.registry,
      scopes: [repositoryScope(repo.repository, ['pull'])],
      followRedirects: true,
      ...(signal && { signal }),
    }, { repository: repo.repository, digest });
    res.body.resume();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.statusError(action, res, repo, digest);
  }

  openBlob(repo: Repo, desc: Pick<Descriptor, 'digest' | 'size'>, o: OpenBlobOptions = {}): Readable {
    const self = this;
    const action = `pulling ${shortDigest(desc.digest)}`;
    const verify = o.verify !== false;
    async function* gen(): AsyncGenerator<Buffer> {
      const hash = verify ? createHash(desc.digest.split(':')[0]!) : undefined;
      let offset = 0;
      let failures = 0;
      while (offset < desc.size || (offset === 0 && desc.size === 0)) {
        const res = await self.call(action, {
          method: 'GET',
          url: self.url(repo, `blobs/${desc.digest}`),
          registry: repo.registry,
          headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
          scopes: [repositoryScope(repo.repository, ['pull'])],
          followRedirects: true,
          ...(o.signal && { signal: o.signal }),
        }, { repository: repo.repository, digest: desc.digest });
        if (res.status !== 200 && res.status !== 206) throw await self.statusError(action, res, repo, desc.digest);
        // A 200 to a Range request restarts from byte 0: skip what we already have.
        let skip = res.status === 200 ? offset : 0;
        try {
          for await (const raw of bodyChunks(res.body)) {
            let chunk = raw;
            if (skip > 0) {
              const n = Math.min(skip, chunk.length);
              chunk = chunk.subarray(n);
              skip -= n;
              if (chunk.length === 0) continue;
            }
            offset += chunk.length;
            if (offset > desc.size) {
              throw new RegistryError({
                code: 'SIZE_MISMATCH', action, registry: repo.registry, repository: repo.repository, digest: desc.digest,
                detail: `blob is longer than the ${desc.size} bytes its descriptor says`,
                hint: `${repo.registry} served content that does not match the manifest`,
              });
            }
            hash?.update(chunk); // verify digest (checked at the end)
            o.onProgress?.({ digest: desc.digest, done: offset, total: desc.size });
            yield chunk;
          }
        } catch (err) {
          if (err instanceof RegistryError || o.signal?.aborted) throw err;
          // Dropped mid-body: what arrived intact was handed on; resume from `offset` with a Range request.
          if (!isRetryableError(err) || failures >= self.retry.retries) {
            throw new RegistryError({
              code: 'NETWORK', action, registry: repo.registry, repository: repo.repository, digest: desc.digest,
              detail: `connection failed after ${offset} of ${desc.size} bytes: ${(err as Error).message}`,
              retries: failures, hint: hintForNetwork((err as { code?: string }).code, repo.registry), cause: err,
            });
          }
          await sleep(backoffDelay(failures++, self.retry), o.signal);
          continue;
        }
        if (offset < desc.size) {
          if (failures >= self.retry.retries) {
            throw new RegistryError({
              code: 'SIZE_MISMATCH', action, registry: repo.registry, repository: repo.repository, digest: desc.digest,
              detail: `blob ended after ${offset} of ${desc.size} bytes`, retries: failures,
              hint: `${repo.registry} keeps closing the transfer early; check it and any proxy in front`,
            });
          }
          await sleep(backoffDelay(failures++, self.retry), o.signal);
          continue;
        }
        break;
      }
      const got = hash ? `${desc.digest.split(':')[0]}:${hash.digest('hex')}` : desc.digest;
      if (got !== desc.digest) {
        throw new RegistryError({
          code: 'DIGEST_MISMATCH', action, registry: repo.registry, repository: repo.repository, digest: desc.digest,
          detail: `blob content hashes to ${shortDigest(got)}`,
          hint: `${repo.registry} (or something between it and you) served content that does not match its digest`,
        });
      }
    }
    // Object mode: each socket read (~64 KiB) is handed on as it is. A byte-mode stream's
    // iterator joins whatever is buffered into a new Buffer (a copy of every byte, and 1 GiB of
    // garbage per GiB pulled); the store gathers the pieces with writev instead.
    return Readable.from(gen(), { objectMode: true, highWaterMark: 16 });
  }

  async mountBlob(repo: Repo, digest: Digest, from: string, signal?: AbortSignal): Promise<true | string | undefined> {
    const action = `mounting ${shortDigest(digest)} from ${from}`;
    const url = new URL(this.url(repo, 'blobs/uploads/'));
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', from);
    const res = await this.call(action, {
      method: 'POST',
      url: url.href,
      registry: repo.registry,
      headers: { 'content-length': '0' },
      scopes: [repositoryScope(repo.repository, ['pull', 'push']), repositoryScope(from, ['pull'])],
      ...(signal && { signal }),
    }, { repository: repo.repository, digest });
    res.body.resume();
    if (res.status === 201) return true;
    // 202: the registry could not mount but opened an ordinary upload session; use it.
    if (res.status === 202 && typeof res.headers.location === 'string') return new URL(res.headers.location, url).href;
    return undefined;
  }

  /** POSTs for a new upload session; returns its location and the chunk minimum, if any. */
  private async startUpload(repo: Repo, digest: Digest, signal?: AbortSignal): Promise<{ location: string; minChunk: number }> {
    const action = `pushing ${shortDigest(digest)}`;
    const url = this.url(repo, 'blobs/uploads/');
    const res = await this.call(action, {
      method: 'POST', url, registry: repo.registry, headers: { 'content-length': '0' },
      scopes: [repositoryScope(repo.repository, ['pull', 'push'])], ...(signal && { signal }),
    }, { repository: repo.repository, digest });
    if (res.status !== 202 || typeof res.headers.location !== 'string') throw await this.statusError(action, res, repo, digest);
    res.body.resume();
    return { location: new URL(res.headers.location, url).href, minChunk: Number(res.headers['oci-chunk-min-length'] ?? 0) || 0 };
  }

  async uploadBlob(repo: Repo, desc: Pick<Descriptor, 'digest' | 'size'>, open: OpenRange, o: UploadOptions = {}): Promise<void> {
    const monolithicMax = o.monolithicMax ?? MONOLITHIC_MAX;
    if (desc.size <= monolithicMax) return this.uploadMonolithic(repo, desc, open, o);
    return this.uploadChunked(repo, desc, open, o);
  }

  /** One PUT with the whole blob; a failed attempt starts a fresh session (a half-written one cannot be trusted). */
  private async uploadMonolithic(repo: Repo, desc: Pick<Descriptor, 'digest' | 'size'>, open: OpenRange, o: UploadOptions): Promise<void> {
    const action = `pushing ${shortDigest(desc.digest)}`;
    let location = o.location;
    for (let attempt = 0; ; attempt++) {
      location ??= (await this.startUpload(repo, desc.digest, o.signal)).location;
      const url = withDigest(location, desc.digest);
      let res: HttpResponse | undefined;
      let error: unknown;
      try {
        res = await this.call(action, {
          method: 'PUT', url, registry: repo.registry,
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
          body: async () => progressStream(await open(0, desc.size), desc, 0, o.onProgress),
          scopes: [repositoryScope(repo.repository, ['pull', 'push'])], ...(o.signal && { signal: o.signal }),
        }, { repository: repo.repository, digest: desc.digest }, true);
      } catch (err) {
        error = err;
      }
      if (res && (res.status === 201 || res.status === 204)) {
        res.body.resume();
        return;
      }
      if (res?.status === 413 && desc.size > CHUNK_MIN) {
        // A proxy with a request size limit: go on in chunks that fit, in a fresh session.
        res.body.resume();
        const { location: _dropped, ...rest } = o;
        return this.uploadChunked(repo, desc, open, { ...rest, chunkSize: Math.max(CHUNK_MIN, Math.ceil(desc.size / 2)) });
      }
      const retryable = res ? RETRYABLE_STATUS.has(res.status) : isRetryableError(error);
      if (!retryable || attempt >= this.retry.retries || o.signal?.aborted) {
        if (res) throw await this.statusError(action, { ...res, retries: attempt }, repo, desc.digest);
        throw withRetries(error, attempt);
      }
      res?.body.resume();
      await sleep(backoffDelay(attempt, this.retry, res ? retryAfter(res) : undefined), o.signal);
      location = undefined;
    }
  }

  /** PATCHes in chunks; after a failure asks the registry how much it has and resumes from there. */
  private async uploadChunked(repo: Repo, desc: Pick<Descriptor, 'digest' | 'size'>, open: OpenRange, o: UploadOptions): Promise<void> {
    const action = `pushing ${shortDigest(desc.digest)}`;
    const scopes = [repositoryScope(repo.repository, ['pull', 'push'])];
    const session = o.location ? { location: o.location, minChunk: 0 } : await this.startUpload(repo, desc.digest, o.signal);
    let location = session.location;
    let chunkSize = Math.max(o.chunkSize ?? CHUNK_SIZE, session.minChunk);
    let offset = 0;
    let failures = 0;
    while (offset < desc.size) {
      const end = Math.min(desc.size, offset + chunkSize);
      let res: HttpResponse | undefined;
      let error: unknown;
      try {
        res = await this.call(action, {
          method: 'PATCH', url: location, registry: repo.registry,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(end - offset),
            'content-range': `${offset}-${end - 1}`,
          },
          body: async () => progressStream(await open(offset, end), desc, offset, o.onProgress),
          scopes, ...(o.signal && { signal: o.signal }),
        }, { repository: repo.repository, digest: desc.digest }, true);
      } catch (err) {
        error = err;
      }
      if (res && res.status === 202) {
        res.body.resume();
        if (typeof res.headers.location === 'string') location = new URL(res.headers.location, location).href;
        const acked = rangeEnd(res.headers.range);
        offset = acked !== undefined ? acked + 1 : end;
        continue;
      }
      const shrink = res?.status === 413 && chunkSize > Math.max(CHUNK_MIN, session.minChunk) && !o.signal?.aborted;
      const retryable = res ? RETRYABLE_STATUS.has(res.status) || res.status === 416 : isRetryableError(error);
      if (shrink) {
        // Too big for the registry or a proxy in front of it: halve the chunk and go on from
        // what the registry has (not a failure: no backoff, no retry spent).
        chunkSize = Math.max(CHUNK_MIN, session.minChunk, Math.floor(chunkSize / 2));
        res!.body.resume();
      } else if (!retryable || failures >= this.retry.retries || o.signal?.aborted) {
        if (res) throw await this.statusError(action, { ...res, retries: failures }, repo, desc.digest);
        throw withRetries(error, failures);
      } else {
        const wait = backoffDelay(failures++, this.retry, res ? retryAfter(res) : undefined);
        res?.body.resume();
        await sleep(wait, o.signal);
      }
      // resume: the registry says how many bytes it kept; continue from there, not from 0.
      const status = await this.call(action, {
        method: 'GET', url: location, registry: repo.registry, scopes, ...(o.signal && { signal: o.signal }),
      }, { repository: repo.repository, digest: desc.digest });
      status.body.resume();
      if (status.status !== 204) {
        if (status.status === 404) {
          // The session is gone (expired or purged): start a new one from 0.
          location = (await this.startUpload(repo, desc.digest, o.signal)).location;
          offset = 0;
          continue;
        }
        throw await this.statusError(action, status, repo, desc.digest);
      }
      if (typeof status.headers.location === 'string') location = new URL(status.headers.location, location).href;
      const acked = rangeEnd(status.headers.range);
      offset = acked !== undefined ? acked + 1 : 0;
    }
    const res = await this.call(action, {
      method: 'PUT', url: withDigest(location, desc.digest), registry: repo.registry,
      headers: { 'content-length': '0' }, scopes, ...(o.signal && { signal: o.signal }),
    }, { repository: repo.repository, digest: desc.digest });
    if (res.status !== 201 && res.status !== 204) throw await this.statusError(action, res, repo, desc.digest);
    res.body.resume();
  }

  async checkLogin(registry: string, signal?: AbortSignal): Promise<void> {
    const repo = { registry, repository: '' };
    const res = await this.call(`logging in to ${registry}`, {
      method: 'GET', url: `${registryBaseUrl(registry, this.opts.insecure)}/v2/`, registry, ...(signal && { signal }),
    });
    if (res.status !== 200) throw await this.statusError(`logging in to ${registry}`, res, repo);
    res.body.resume();
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  408: 'Request Timeout', 413: 'Payload Too Large', 416: 'Range Not Satisfiable', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

function headerDigest(v: string | string[] | undefined): Digest | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s && /^sha(256|512):[a-f0-9]+$/.test(s) ? (s as Digest) : undefined;
}

/**
 * The last byte offset of a `Range: 0-N` header (the registry's acknowledged bytes).
 * The distribution registry sends `0-0` for an empty upload too, so `0-0` counts as
 * nothing acknowledged (rbuild never PATCHes a 1-byte chunk, so no real ack is lost).
 */
function rangeEnd(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  const m = s && /^(?:bytes=)?0-(\d+)$/.exec(s.trim());
  if (!m) return undefined;
  const end = Number(m[1]);
  return end === 0 ? -1 : end;
}

function retryAfter(res: HttpResponse): number | undefined {
  const v = res.headers['retry-after'];
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  return /^\d+$/.test(s) ? Number(s) * 1000 : Math.max(0, Date.parse(s) - Date.now()) || undefined;
}

function withDigest(location: string, digest: Digest): string {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u.href;
}

function withRetries(err: unknown, retries: number): unknown {
  return err instanceof RegistryError && retries > 0 ? err.withRetries(retries) : err;
}

/** Counts bytes through a body stream for progress events (a Transform, so the body is not put into flowing mode early). */
function progressStream(src: Readable, desc: Pick<Descriptor, 'digest' | 'size'>, start: number, onProgress?: (p: BlobProgress) => void): Readable {
  if (!onProgress) return src;
  let done = start;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      onProgress({ digest: desc.digest, done, total: desc.size });
      cb(null, chunk);
    },
  });
  return pipeline(src, counter, () => undefined) as Readable;
}

