/**
 * Docker image references, parsed and normalised by the rules of Docker's
 * distribution/reference package (grammar in its reference.go, normalisation
 * in normalize.go): `busybox` -> `docker.io/library/busybox:latest`.
 * Pure logic; no I/O.
 */
import type { Digest } from './oci/types.js';

/** The registry that short names (`busybox`, `user/app`) refer to. */
export const DOCKER_HUB = 'docker.io';
/** The repository prefix of Docker Hub's official images. */
export const OFFICIAL_PREFIX = 'library/';
/** The tag used when a reference names neither tag nor digest. */
export const DEFAULT_TAG = 'latest';
/** Longest repository name (domain + path) that Docker accepts. */
export const NAME_MAX = 255;

/** A fully normalised image reference. */
export interface Reference {
  /** Registry host, with port when given (`docker.io`, `127.0.0.1:5000`, `[::1]:5000`). */
  readonly registry: string;
  /** Repository path inside the registry (`library/busybox`). */
  readonly repository: string;
  /** The tag, if any (`latest` is filled in when neither tag nor digest was given). */
  readonly tag?: string;
  /** The digest, if any. */
  readonly digest?: Digest;
}

/** Thrown for a reference that breaks Docker's grammar; `rule` names the broken rule. */
export class InvalidReferenceError extends Error {
  readonly code = 'INVALID_REFERENCE';
  constructor(
    readonly input: string,
    readonly rule: string,
    message: string,
  ) {
    super(`invalid reference ${JSON.stringify(input)}: ${message}`);
    this.name = 'InvalidReferenceError';
  }
}

// The grammar, as regular expressions (reference/regexp.go).
const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainRe = new RegExp(`^(?:${domainName}|${ipv6})(?::[0-9]+)?$`);
const pathRe = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const anchoredHex64 = /^[a-f0-9]{64}$/;

/** Options for parseReference. */
export interface ParseOptions {
  /** Fill in `latest` when the reference has neither tag nor digest (default true). */
  defaultTag?: boolean;
}

/** Parses and normalises a reference as `docker pull` would; throws InvalidReferenceError. */
export function parseReference(input: string, opts: ParseOptions = {}): Reference {
  const fail = (rule: string, msg: string): never => {
    throw new InvalidReferenceError(input, rule, msg);
  };
  if (input.length === 0) fail('empty', 'repository name must have at least one component');
  if (anchoredHex64.test(input)) {
    fail('hex-name', 'cannot specify 64-byte hexadecimal strings as a repository name');
  }

  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!digestRe.test(d)) fail('digest', `digest ${JSON.stringify(d)} is not algorithm:hex (at least 32 hex digits)`);
    const [alg, hex] = d.split(':') as [string, string];
    if (alg === 'sha256' && hex.length !== 64) fail('digest', 'a sha256 digest has 64 hex digits');
    if (alg === 'sha512' && hex.length !== 128) fail('digest', 'a sha512 digest has 128 hex digits');
    if (alg !== 'sha256' && alg !== 'sha512') fail('digest', `unsupported digest algorithm ${JSON.stringify(alg)}`);
    if (hex !== hex.toLowerCase()) fail('digest', 'digest hex must be lowercase');
    digest = d as Digest;
    rest = rest.slice(0, at);
  }

  // A tag is after the last ':' that follows the last '/' (a ':' before it is a port).
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) {
      fail('tag', `tag ${JSON.stringify(tag)} must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
    }
  }
  if (rest.length === 0) fail('empty', 'repository name must have at least one component');

  const { registry, repository } = splitDomain(rest);
  if (!domainRe.test(registry)) fail('domain', `registry host ${JSON.stringify(registry)} is not a valid host[:port]`);
  if (repository !== repository.toLowerCase()) fail('uppercase', 'repository name must be lowercase');
  if (!pathRe.test(repository)) {
    fail(
      'path',
      `repository ${JSON.stringify(repository)} must be lowercase letters, digits and separators (., _, __, -) between them, in /-separated components`,
    );
  }
  if (registry.length + 1 + repository.length > NAME_MAX) {
    fail('length', `repository name must not be more than ${NAME_MAX} characters`);
  }
  if (tag === undefined && digest === undefined && opts.defaultTag !== false) tag = DEFAULT_TAG;
  return { registry, repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** Splits `name` into registry and repository like Docker's splitDockerDomain. */
function splitDomain(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  let registry: string;
  let repository: string;
  const first = slash < 0 ? '' : name.slice(0, slash);
  // The first component is a registry only if it looks like a host: it has a '.'
  // or a ':' (port), is `localhost`, or has an uppercase letter (paths cannot).
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    registry = DOCKER_HUB;
    repository = name;
  } else {
    registry = first;
    repository = name.slice(slash + 1);
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = OFFICIAL_PREFIX + repository;
  return { registry, repository };
}

/** `registry/repository` of a reference. */
export function referenceName(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The full normalised string: `docker.io/library/busybox:latest`, `host/repo@sha256:...`. */
export function formatReference(ref: Reference): string {
  return referenceName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}

/** The short name Docker shows: `busybox` for docker.io/library/busybox, `user/app` for docker.io/user/app. */
export function familiarName(ref: Reference): string {
  if (ref.registry !== DOCKER_HUB) return referenceName(ref);
  const r = ref.repository;
  if (r.startsWith(OFFICIAL_PREFIX) && !r.slice(OFFICIAL_PREFIX.length).includes('/')) {
    return r.slice(OFFICIAL_PREFIX.length);
  }
  return r;
}

/** The short form with tag and digest, as `docker images` shows it. */
export function familiarString(ref: Reference): string {
  return familiarName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}

/** The same reference with a different tag or digest (or none). */
export function withTarget(ref: Reference, target: { tag?: string; digest?: Digest }): Reference {
  return {
    registry: ref.registry,
    repository: ref.repository,
    ...(target.tag !== undefined && { tag: target.tag }),
    ...(target.digest !== undefined && { digest: target.digest }),
  };
}

/** Whether a string is a well-formed sha256/sha512 digest. */
export function isDigest(s: string): s is Digest {
  return /^sha256:[a-f0-9]{64}$/.test(s) || /^sha512:[a-f0-9]{128}$/.test(s);
}
