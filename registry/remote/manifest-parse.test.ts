import { describe, expect, it } from 'vitest';
import { ManifestError, parseManifest } from './manifest-parse.js';

const dg = `sha256:${'a'.repeat(64)}`;
const enc = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

describe('parseManifest', () => {
  it('accepts manifests and indexes', () => {
    const m = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'x', digest: dg, size: 2 }, layers: [] };
    expect(parseManifest(enc(m)).kind).toBe('manifest');
    expect(parseManifest(enc({ schemaVersion: 2, manifests: [] }), 'application/vnd.oci.image.index.v1+json').kind).toBe('index');
  });
  it('rejects what would crash later, saying why', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ schemaVersion: 1, name: 'x' }, /schema 1/],
      [{ schemaVersion: 2, config: { mediaType: 'x', digest: 'sha256:zz', size: 1 }, layers: [] }, /config.digest/],
      [{ schemaVersion: 2, config: { mediaType: 'x', digest: dg, size: -1 }, layers: [] }, /config.size/],
      [{ schemaVersion: 2, config: { mediaType: 'x', digest: dg, size: 1 } }, /layers/],
      [{ schemaVersion: 2, mediaType: 'text/html', manifests: [] }, /unsupported manifest media type/],
      [[1], /not a JSON object/],
    ];
    for (const [o, re] of cases) expect(() => parseManifest(enc(o))).toThrow(re);
    expect(() => parseManifest(Buffer.from('<html>'))).toThrow(ManifestError);
  });
});
