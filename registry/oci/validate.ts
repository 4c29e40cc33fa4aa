/**
 * Validation of OCI/Docker JSON documents that come off the wire or from disk,
 * plus small pure helpers (digests, our canonical JSON writer, media-type tests).
 * Everything here is pure: no I/O.
 */
import { sha256Hex } from './sha256.js';
import { MediaType } from './types.js';
import type { Descriptor, Digest, ImageConfig, Index, Manifest, Platform } from './types.js';

/** A document that breaks the spec; `path` is the JSON path of the problem (`$.layers[2].digest`). */
export class OciValidationError extends Error {
  override name = 'OciValidationError';
  /** Stable machine-readable reason, e.g. `INVALID_DIGEST`. */
  readonly code: string;
  /** JSON path of the offending value. */
  readonly path: string;
  constructor(code: string, path: string, message: string, options?: { cause?: unknown }) {
    super(`${path}: ${message}`, options);
    this.code = code;
    this.path = path;
  }
}

/** Largest manifest or index we accept (the distribution registry's own limit). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const digestPatterns: Record<string, RegExp> = {
  sha256: /^sha256:[a-f0-9]{64}$/,
  sha512: /^sha512:[a-f0-9]{128}$/,
};

/** Whether `s` is a well-formed sha256 (or sha512) digest. */
export function isDigest(s: unknown): s is Digest {
  if (typeof s !== 'string') return false;
  const alg = s.slice(0, s.indexOf(':'));
  return digestPatterns[alg]?.test(s) ?? false;
}

/** The sha256 digest of some bytes. */
export function sha256Digest(bytes: Uint8Array | string): Digest {
  return `sha256:${sha256Hex(bytes)}`;
}

/** The hex part of a digest (`sha256:ab..` -> `ab..`). */
export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

// Keys we write first, in this order, so our manifests read like everyone else's;
// every other key follows sorted, which makes the output independent of how the
// object was built (the digest of what we write must not depend on code paths).
const preferredKeys = ['schemaVersion', 'mediaType', 'artifactType', 'digest', 'size', 'config', 'manifests', 'layers', 'subject'];

function orderKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(orderKeys);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  const first = preferredKeys.filter((k) => keys.includes(k));
  const rest = keys.filter((k) => !preferredKeys.includes(k)).sort();
  const out: Record<string, unknown> = {};
  for (const k of [...first, ...rest]) out[k] = orderKeys(obj[k]);
  return out;
}

/** Deterministic compact JSON for documents rbuild writes (manifests, indexes, configs). */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(orderKeys(value)), 'utf8');
}

/** Whether a media type names an image index or a Docker manifest list. */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

/** Whether a media type names an image manifest (OCI or Docker schema2). */
export function isManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest;
}

/** Whether a descriptor points at an index / manifest list. */
export function isIndex(d: { mediaType?: string }): boolean {
  return isIndexMediaType(d.mediaType);
}

/** Whether a descriptor points at an image manifest. */
export function isManifest(d: { mediaType?: string }): boolean {
  return isManifestMediaType(d.mediaType);
}

// RFC 6838 type/subtype (with the structured-syntax suffix and parameters we see in practice).
const mediaTypePattern = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(\s*;.*)?$/;

function fail(code: string, path: string, message: string): never {
  throw new OciValidationError(code, path, message);
}

function expectObject(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('INVALID_TYPE', path, 'expected an object');
  return v as Record<string, unknown>;
}

function expectString(o: Record<string, unknown>, key: string, path: string, required: boolean): string | undefined {
  const v = o[key];
  if (v === undefined) {
    if (required) fail('MISSING_FIELD', `${path}.${key}`, 'required field is missing');
    return undefined;
  }
  if (typeof v !== 'string') fail('INVALID_TYPE', `${path}.${key}`, 'expected a string');
  return v;
}

function expectStringArray(o: Record<string, unknown>, key: string, path: string): void {
  const v = o[key];
  if (v === undefined || v === null) return;
  if (!Array.isArray(v)) fail('INVALID_TYPE', `${path}.${key}`, 'expected an array of strings');
  v.forEach((s, i) => {
    if (typeof s !== 'string') fail('INVALID_TYPE', `${path}.${key}[${i}]`, 'expected a string');
  });
}

function expectStringMap(o: Record<string, unknown>, key: string, path: string): void {
  const v = o[key];
  if (v === undefined || v === null) return;
  const m = expectObject(v, `${path}.${key}`);
  for (const [k, s] of Object.entries(m)) {
    if (typeof s !== 'string') fail('INVALID_TYPE', `${path}.${key}[${JSON.stringify(k)}]`, 'expected a string');
  }
}

function expectSchemaVersion(o: Record<string, unknown>, path: string): void {
  if (o.schemaVersion === undefined) fail('MISSING_FIELD', `${path}.schemaVersion`, 'required field is missing');
  if (o.schemaVersion !== 2) fail('SCHEMA_VERSION', `${path}.schemaVersion`, `expected 2, got ${JSON.stringify(o.schemaVersion)}`);
}

function validatePlatform(v: unknown, path: string): Platform {
  const o = expectObject(v, path);
  expectString(o, 'architecture', path, true);
  expectString(o, 'os', path, true);
  expectString(o, 'os.version', path, false);
  expectString(o, 'variant', path, false);
  expectStringArray(o, 'os.features', path);
  return o as unknown as Platform;
}

/** Checks a descriptor's shape; returns it typed. */
export function validateDescriptor(v: unknown, path = '$'): Descriptor {
  const o = expectObject(v, path);
  const mt = expectString(o, 'mediaType', path, true)!;
  if (!mediaTypePattern.test(mt)) fail('MEDIA_TYPE', `${path}.mediaType`, `not a media type: ${JSON.stringify(mt)}`);
  if (o.digest === undefined) fail('MISSING_FIELD', `${path}.digest`, 'required field is missing');
  if (!isDigest(o.digest)) fail('INVALID_DIGEST', `${path}.digest`, `not a valid digest: ${JSON.stringify(o.digest)}`);
  if (o.size === undefined) fail('MISSING_FIELD', `${path}.size`, 'required field is missing');
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) {
    fail('INVALID_SIZE', `${path}.size`, `expected a non-negative integer, got ${JSON.stringify(o.size)}`);
  }
  expectStringArray(o, 'urls', path);
  expectStringMap(o, 'annotations', path);
  expectString(o, 'artifactType', path, false);
  if (o.platform !== undefined) validatePlatform(o.platform, `${path}.platform`);
  return o as unknown as Descriptor;
}

function checkDocMediaType(o: Record<string, unknown>, allowed: string[], expected: string | undefined, path: string): void {
  const mt = expectString(o, 'mediaType', path, false);
  if (mt !== undefined && !allowed.includes(mt)) {
    fail('MEDIA_TYPE', `${path}.mediaType`, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(mt)}`);
  }
  // The media type the document was fetched as (Content-Type, the parent descriptor) must agree with the body.
  if (expected !== undefined) {
    if (!allowed.includes(expected)) fail('MEDIA_TYPE', path, `${expected} is not a media type for this document`);
    if (mt !== undefined && mt !== expected) {
      fail('MEDIA_TYPE', `${path}.mediaType`, `document says ${mt} but was served as ${expected}`);
    }
  }
}

/** Checks an image manifest (OCI or Docker schema2). `expectedMediaType` is what it was fetched as. */
export function validateManifest(v: unknown, expectedMediaType?: string): Manifest {
  const path = '$';
  const o = expectObject(v, path);
  expectSchemaVersion(o, path);
  checkDocMediaType(o, [MediaType.ociManifest, MediaType.dockerManifest], expectedMediaType, path);
  if (o.manifests !== undefined) fail('MEDIA_TYPE', `${path}.manifests`, 'an image manifest has no "manifests" (is this an index?)');
  if (o.config === undefined) fail('MISSING_FIELD', `${path}.config`, 'required field is missing');
  validateDescriptor(o.config, `${path}.config`);
  if (o.layers === undefined) fail('MISSING_FIELD', `${path}.layers`, 'required field is missing');
  if (!Array.isArray(o.layers)) fail('INVALID_TYPE', `${path}.layers`, 'expected an array');
  o.layers.forEach((l, i) => validateDescriptor(l, `${path}.layers[${i}]`));
  if (o.subject !== undefined) validateDescriptor(o.subject, `${path}.subject`);
  expectStringMap(o, 'annotations', path);
  return o as unknown as Manifest;
}

/** Checks an image index or Docker manifest list. `expectedMediaType` is what it was fetched as. */
export function validateIndex(v: unknown, expectedMediaType?: string): Index {
  const path = '$';
  const o = expectObject(v, path);
  expectSchemaVersion(o, path);
  checkDocMediaType(o, [MediaType.ociIndex, MediaType.dockerManifestList], expectedMediaType, path);
  if (o.config !== undefined || o.layers !== undefined) {
    fail('MEDIA_TYPE', path, 'an index has no "config"/"layers" (is this a manifest?)');
  }
  if (o.manifests === undefined) fail('MISSING_FIELD', `${path}.manifests`, 'required field is missing');
  if (!Array.isArray(o.manifests)) fail('INVALID_TYPE', `${path}.manifests`, 'expected an array');
  o.manifests.forEach((m, i) => validateDescriptor(m, `${path}.manifests[${i}]`));
  if (o.subject !== undefined) validateDescriptor(o.subject, `${path}.subject`);
  expectStringMap(o, 'annotations', path);
  return o as unknown as Index;
}

/** Checks an image config (OCI or Docker; same JSON). */
export function validateImageConfig(v: unknown): ImageConfig {
  const path = '$';
  const o = expectObject(v, path);
  expectString(o, 'architecture', path, true);
  expectString(o, 'os', path, true);
  expectString(o, 'created', path, false);
  if (o.rootfs === undefined) fail('MISSING_FIELD', `${path}.rootfs`, 'required field is missing');
  const rootfs = expectObject(o.rootfs, `${path}.rootfs`);
  if (rootfs.type !== 'layers') fail('INVALID_TYPE', `${path}.rootfs.type`, `expected "layers", got ${JSON.stringify(rootfs.type)}`);
  if (!Array.isArray(rootfs.diff_ids)) fail('MISSING_FIELD', `${path}.rootfs.diff_ids`, 'required array is missing');
  rootfs.diff_ids.forEach((d, i) => {
    if (!isDigest(d)) fail('INVALID_DIGEST', `${path}.rootfs.diff_ids[${i}]`, `not a valid digest: ${JSON.stringify(d)}`);
  });
  if (o.config !== undefined && o.config !== null) {
    const c = expectObject(o.config, `${path}.config`);
    for (const k of ['Env', 'Entrypoint', 'Cmd', 'Shell', 'OnBuild']) expectStringArray(c, k, `${path}.config`);
    expectStringMap(c, 'Labels', `${path}.config`);
    for (const k of ['User', 'WorkingDir', 'StopSignal']) expectString(c, k, `${path}.config`, false);
  }
  if (o.history !== undefined && o.history !== null) {
    if (!Array.isArray(o.history)) fail('INVALID_TYPE', `${path}.history`, 'expected an array');
    o.history.forEach((h, i) => expectObject(h, `${path}.history[${i}]`));
  }
  return o as unknown as ImageConfig;
}

/** Parses JSON bytes, turning a syntax error into an OciValidationError. */
export function parseJson(bytes: Uint8Array | string, maxBytes = MAX_MANIFEST_BYTES): unknown {
  const len = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
  if (len > maxBytes) fail('TOO_LARGE', '$', `document of ${len} bytes exceeds the limit of ${maxBytes}`);
  try {
    return JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new OciValidationError('INVALID_JSON', '$', `not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** A parsed manifest or index, told apart by media type (or by shape when the media type is absent). */
export type ManifestOrIndex = { kind: 'manifest'; manifest: Manifest } | { kind: 'index'; index: Index };

/** Parses and validates bytes that are either a manifest or an index. */
export function parseManifestOrIndex(bytes: Uint8Array | string, mediaType?: string): ManifestOrIndex {
  const v = parseJson(bytes);
  const o = expectObject(v, '$');
  const mt = mediaType ?? (typeof o.mediaType === 'string' ? o.mediaType : undefined);
  const looksLikeIndex = mt !== undefined ? isIndexMediaType(mt) : Array.isArray(o.manifests);
  if (mt !== undefined && !isIndexMediaType(mt) && !isManifestMediaType(mt)) {
    fail('MEDIA_TYPE', '$.mediaType', `not a manifest or index media type: ${mt}`);
  }
  return looksLikeIndex ? { kind: 'index', index: validateIndex(o, mediaType) } : { kind: 'manifest', manifest: validateManifest(o, mediaType) };
}
