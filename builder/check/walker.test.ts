import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { makeTar, type MakeTarEntry } from '../../snapshotter/testing/make-tar.js';
import type { Descriptor, Digest } from '../../registry/oci/types.js';
import { entryPath, layerHistory, walkLayers } from './walker.js';

/** An in-memory blob source that counts reads, with layers gzipped like a registry's. */
function fakeImage(layers: MakeTarEntry[][]) {
  const blobs = new Map<string, Buffer>();
  const reads = new Map<string, number>();
  const descs: Descriptor[] = layers.map((entries) => {
    const blob = gzipSync(makeTar(entries));
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}` as Digest;
    blobs.set(digest, blob);
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: blob.length };
  });
  const source = {
    async read(d: Digest) {
      reads.set(d, (reads.get(d) ?? 0) + 1);
      return Readable.from([blobs.get(d)!]);
    },
  };
  return { source, descs, reads };
}

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';

describe('walkLayers', () => {
  it('reads each layer once and gathers modes, owners, xattrs, secrets, caches and /etc files', async () => {
    const img = fakeImage([
      [
        { path: 'etc/', type: 'dir' },
        { path: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' },
        { path: 'etc/group', body: 'root:x:0:\napp:x:1000:\n' },
        { path: 'bin/su', mode: 0o4755 },
        { path: 'tmp/', type: 'dir', mode: 0o1777 },
      ],
      [
        { path: 'app/', type: 'dir', mode: 0o755, uid: 1000, gid: 1000 },
        { path: 'app/data/', type: 'dir', mode: 0o777 },
        { path: 'app/run.sh', mode: 0o666, body: '#!/bin/sh\n' },
        { path: 'usr/bin/ping', mode: 0o755, body: 'ELF', xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2, 0, 32, 0, 0]) } },
        { path: 'root/.ssh/deploy', body: KEY },
        { path: 'app/.env', body: 'DB_PASSWORD=x\n' },
        { path: 'app/.env.example', body: 'DB_PASSWORD=\n' },
        { path: 'root/.npmrc', body: 'registry=https://r.example\n' },
        { path: 'home/app/.npmrc', body: '//r.example/:_authToken=abc\n' },
        { path: 'var/lib/apt/lists/deb_Packages', body: Buffer.alloc(5000) },
        { path: 'var/lib/apt/lists/lock', body: Buffer.alloc(10) },
        { path: 'root/.npm/_cacache/x', body: Buffer.alloc(300) },
      ],
      [
        { path: 'root/.ssh/.wh.deploy', body: '' },
        { path: 'root/.npm/.wh..wh..opq' },
        { path: 'root/.npm/kept', body: Buffer.alloc(7) },
      ],
    ]);
    const f = await walkLayers(img.source, img.descs, { baseLayers: 1, watch: ['/app'] });
    expect([...img.reads.values()]).toEqual([1, 1, 1]);
    expect(f.layers.map((l) => l.base)).toEqual([true, false, false]);
    expect(f.privileged.map((x) => [x.path, x.layer])).toEqual([['/bin/su', 0]]);
    expect(f.capabilities.map((x) => x.path)).toEqual(['/usr/bin/ping']);
    expect(f.worldWritable.map((x) => x.path)).toEqual(['/app/data', '/app/run.sh']);
    expect(f.watched.get('/app')).toMatchObject({ uid: 1000, mode: 0o755, layer: 1 });
    expect(f.passwd).toContain('app:x:1000');
    expect(f.group).toContain('app:x:1000');
    expect(f.secrets.map((s) => [s.path, s.kind, s.layer, s.removedIn])).toEqual([
      ['/root/.ssh/deploy', 'private key', 1, 2],
      ['/app/.env', 'dotenv file', 1, undefined],
      ['/home/app/.npmrc', 'npm token', 1, undefined],
    ]);
    expect(f.caches).toEqual([
      { dir: '/var/lib/apt/lists', manager: 'apt', bytes: 5000, files: 1, layers: [1] },
      { dir: '/root/.npm', manager: 'npm', bytes: 7, files: 1, layers: [2] },
    ]);
  });

  it('a file overwritten by a later layer counts as removed from the final tree', async () => {
    const img = fakeImage([[{ path: 'srv/deploy', body: KEY }], [{ path: 'srv/deploy', body: 'gone\n' }]]);
    const f = await walkLayers(img.source, img.descs);
    expect(f.secrets).toEqual([{ path: '/srv/deploy', kind: 'private key', layer: 0, removedIn: 1 }]);
  });

  it('whiteouts hide only earlier layers', async () => {
    const img = fakeImage([[{ path: 'x/su', mode: 0o4755 }], [{ path: 'x/.wh..wh..opq' }, { path: 'x/su2', mode: 0o2755 }]]);
    const f = await walkLayers(img.source, img.descs);
    expect(f.privileged.map((p) => p.path)).toEqual(['/x/su2']);
  });

  it('normalises entry names and lines history up with layers', () => {
    expect(entryPath('./a//b/')).toBe('/a/b');
    expect(entryPath('./')).toBe('/');
    expect(layerHistory([{ created_by: 'a' }, { created_by: 'e', empty_layer: true }, { created_by: 'b' }], 2)).toEqual(['a', 'b']);
    expect(layerHistory([{ created_by: 'a' }], 2)).toEqual([]);
  });
});
