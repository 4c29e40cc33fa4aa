import { describe, expect, it } from 'vitest';
import { MediaType } from './types.js';
import {
  OciValidationError,
  canonicalJson,
  isDigest,
  isIndex,
  isManifest,
  parseManifestOrIndex,
  sha256Digest,
  validateDescriptor,
  validateImageConfig,
  validateIndex,
  validateManifest,
} from './validate.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = () => ({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: d('a'), size: 10 },
  layers: [{ mediaType: MediaType.ociLayerGzip, digest: d('b'), size: 20 }],
});

function errorOf(fn: () => unknown): OciValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OciValidationError);
    return e as OciValidationError;
  }
  throw new Error('expected a validation error');
}

describe('digests', () => {
  it('sha256Digest matches the well-known empty digest', () => {
    expect(sha256Digest(new Uint8Array())).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
  it.each([
    [d('a'), true],
    ['sha256:' + 'A'.repeat(64), false],
    ['sha256:' + 'a'.repeat(63), false],
    ['md5:' + 'a'.repeat(32), false],
    ['sha512:' + 'a'.repeat(128), true],
    [42, false],
  ])('isDigest(%s) = %s', (v, ok) => expect(isDigest(v)).toBe(ok));
});

describe('validateManifest', () => {
  it('accepts a good OCI and Docker manifest', () => {
    expect(validateManifest(manifest(), MediaType.ociManifest).layers).toHaveLength(1);
    expect(validateManifest({ ...manifest(), mediaType: MediaType.dockerManifest }).config.size).toBe(10);
  });
  it.each([
    ['wrong media type', (m: any) => (m.mediaType = MediaType.ociIndex), 'MEDIA_TYPE', '$.mediaType'],
    ['missing config', (m: any) => delete m.config, 'MISSING_FIELD', '$.config'],
    ['bad layer digest', (m: any) => (m.layers[0].digest = 'sha256:xyz'), 'INVALID_DIGEST', '$.layers[0].digest'],
    ['negative size', (m: any) => (m.layers[0].size = -1), 'INVALID_SIZE', '$.layers[0].size'],
    ['fractional size', (m: any) => (m.config.size = 1.5), 'INVALID_SIZE', '$.config.size'],
    ['string size', (m: any) => (m.config.size = '10'), 'INVALID_SIZE', '$.config.size'],
    ['schema 1', (m: any) => (m.schemaVersion = 1), 'SCHEMA_VERSION', '$.schemaVersion'],
    ['layers not array', (m: any) => (m.layers = {}), 'INVALID_TYPE', '$.layers'],
    ['missing layer mediaType', (m: any) => delete m.layers[0].mediaType, 'MISSING_FIELD', '$.layers[0].mediaType'],
    ['bad annotation', (m: any) => (m.annotations = { a: 1 }), 'INVALID_TYPE', '$.annotations["a"]'],
  ])('rejects %s', (_name, mutate, code, path) => {
    const m = manifest();
    mutate(m);
    const e = errorOf(() => validateManifest(m));
    expect([e.code, e.path]).toEqual([code, path]);
    expect(e.message).toContain(path);
  });
  it('rejects a body that disagrees with the media type it was served as', () => {
    const e = errorOf(() => validateManifest(manifest(), MediaType.dockerManifest));
    expect(e.code).toBe('MEDIA_TYPE');
  });
});

describe('validateIndex / parseManifestOrIndex', () => {
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [{ mediaType: MediaType.ociManifest, digest: d('c'), size: 5, platform: { os: 'linux', architecture: 'amd64' } }],
  };
  it('accepts an index and tells it apart from a manifest', () => {
    expect(validateIndex(index).manifests).toHaveLength(1);
    expect(parseManifestOrIndex(JSON.stringify(index)).kind).toBe('index');
    expect(parseManifestOrIndex(JSON.stringify(manifest())).kind).toBe('manifest');
    const noMt = { ...index, mediaType: undefined };
    expect(parseManifestOrIndex(JSON.stringify(noMt)).kind).toBe('index');
  });
  it('rejects a platform without os', () => {
    const bad = structuredClone(index) as any;
    delete bad.manifests[0].platform.os;
    expect(errorOf(() => validateIndex(bad)).path).toBe('$.manifests[0].platform.os');
  });
  it('rejects broken JSON and oversized documents', () => {
    expect(errorOf(() => parseManifestOrIndex('{')).code).toBe('INVALID_JSON');
    expect(errorOf(() => parseManifestOrIndex(' '.repeat(5 * 1024 * 1024))).code).toBe('TOO_LARGE');
  });
  it('rejects an index served as a manifest', () => {
    expect(errorOf(() => parseManifestOrIndex(JSON.stringify(index), MediaType.ociManifest)).code).toBe('MEDIA_TYPE');
  });
});

describe('validateDescriptor / validateImageConfig', () => {
  it('rejects a malformed media type', () => {
    expect(errorOf(() => validateDescriptor({ mediaType: 'nonsense', digest: d('a'), size: 1 })).code).toBe('MEDIA_TYPE');
  });
  it('checks config diff_ids', () => {
    const c = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [d('a'), 'nope'] } };
    expect(errorOf(() => validateImageConfig(c)).path).toBe('$.rootfs.diff_ids[1]');
    c.rootfs.diff_ids.pop();
    expect(validateImageConfig(c).os).toBe('linux');
    expect(errorOf(() => validateImageConfig({ ...c, config: { Env: 'A=1' } })).path).toBe('$.config.Env');
  });
});

describe('helpers', () => {
  it('canonicalJson is independent of key insertion order', () => {
    const a = canonicalJson({ layers: [], config: { size: 1, digest: 'x' }, schemaVersion: 2, annotations: { z: '1', a: '2' } });
    const b = canonicalJson({ annotations: { a: '2', z: '1' }, schemaVersion: 2, config: { digest: 'x', size: 1 }, layers: [] });
    expect(a.equals(b)).toBe(true);
    expect(a.toString()).toBe('{"schemaVersion":2,"config":{"digest":"x","size":1},"layers":[],"annotations":{"a":"2","z":"1"}}');
  });
  it('isIndex / isManifest by media type', () => {
    expect(isIndex({ mediaType: MediaType.dockerManifestList })).toBe(true);
    expect(isManifest({ mediaType: MediaType.dockerManifest })).toBe(true);
    expect(isManifest({ mediaType: MediaType.ociIndex })).toBe(false);
  });
});
