/**
 * Minimal checks of manifests off the wire before pull/push trust their
 * fields (shape only; registry/oci/validate.ts holds the full validation).
 */
import type { Descriptor, Index, Manifest } from '../oci/types.js';
import { MediaType } from '../oci/types.js';

/** A manifest or index that is not usable. */
export class ManifestError extends Error {
  readonly code = 'MANIFEST_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** A parsed manifest or index. */
export type Parsed = { kind: 'manifest'; manifest: Manifest } | { kind: 'index'; index: Index };

const INDEX_TYPES = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);

/** Whether a media type is an index or manifest list. */
export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_TYPES.has(mediaType);
}

function checkDescriptor(d: unknown, where: string): Descriptor {
  const o = d as Record<string, unknown> | null;
  if (!o || typeof o !== 'object') throw new ManifestError(`${where} is not an object`);
  if (typeof o.mediaType !== 'string' || !o.mediaType) throw new ManifestError(`${where}.mediaType is missing`);
  if (typeof o.digest !== 'string' || !/^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/.test(o.digest)) {
    throw new ManifestError(`${where}.digest ${JSON.stringify(o.digest)} is not a sha256/sha512 digest`);
  }
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) {
    throw new ManifestError(`${where}.size is not a non-negative integer`);
  }
  return o as unknown as Descriptor;
}

/** Parses manifest bytes; `mediaType` is what the registry or descriptor said. */
export function parseManifest(bytes: Uint8Array, mediaType?: string): Parsed {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ManifestError(`manifest is not JSON: ${(err as Error).message}`);
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new ManifestError('manifest is not a JSON object');
  const type = (typeof o.mediaType === 'string' && o.mediaType) || mediaType;
  if (o.schemaVersion === 1 || type?.includes('distribution.manifest.v1')) {
    throw new ManifestError('Docker schema 1 manifests are not supported (deprecated since 2017); re-push the image');
  }
  if (o.schemaVersion !== 2) throw new ManifestError(`schemaVersion is ${JSON.stringify(o.schemaVersion)}, not 2`);
  if (type && !INDEX_TYPES.has(type) && !MANIFEST_TYPES.has(type)) {
    throw new ManifestError(`unsupported manifest media type ${JSON.stringify(type)}`);
  }
  if (Array.isArray(o.manifests) || (type && INDEX_TYPES.has(type))) {
    if (!Array.isArray(o.manifests)) throw new ManifestError('index has no manifests array');
    o.manifests.forEach((d, i) => checkDescriptor(d, `manifests[${i}]`));
    return { kind: 'index', index: o as unknown as Index };
  }
  checkDescriptor(o.config, 'config');
  if (!Array.isArray(o.layers)) throw new ManifestError('manifest has no layers array');
  o.layers.forEach((d, i) => checkDescriptor(d, `layers[${i}]`));
  return { kind: 'manifest', manifest: o as unknown as Manifest };
}
