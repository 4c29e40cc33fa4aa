import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { sha256Digest } from '../oci/validate.js';
import { resolveImage } from '../store/images.js';
import { openStore, type OciLayoutStore } from '../store/oci-layout-store.js';
import { makeLayerTar, makeTestImage, type TestImage } from '../store/test-image.js';
import { loadArchive } from './load-archive.js';
import { saveImage } from './save-image.js';

const run = promisify(execFile);
let dir: string;
let store: OciLayoutStore;
let img: TestImage;
const NAME = 'docker.io/library/demo:1';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbuild-archive-'));
  store = await openStore(join(dir, 'root'));
  img = await makeTestImage(store, { layers: [{ 'etc/os-release': 'ID=test\n', 'bin/hello': '#!/bin/sh\necho hi\n' }, { 'app/data.txt': 'x'.repeat(3000) }] });
  await store.tag(NAME, img.manifest);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function save(names: string[], format: 'oci' | 'docker'): Promise<string> {
  const file = join(dir, `out-${format}-${Math.random().toString(36).slice(2)}.tar`);
  await saveImage(store, names, createWriteStream(file), format);
  return file;
}

async function freshStore(): Promise<OciLayoutStore> {
  return openStore(await mkdtemp(join(dir, 'fresh-')));
}

async function tarList(file: string): Promise<string[]> {
  const out: string[] = [];
  await tar.t({ file, onReadEntry: (e) => out.push(e.path) });
  return out;
}

describe('saveImage', () => {
  it('writes an OCI archive that skopeo reads, by name and alone', async () => {
    const file = await save(['demo:1'], 'oci');
    expect(await tarList(file)).toEqual(expect.arrayContaining(['oci-layout', 'index.json', `blobs/sha256/${img.manifest.digest.slice(7)}`]));
    const out = join(dir, 'skopeo-oci');
    await run('skopeo', ['copy', '--quiet', `oci-archive:${file}:${NAME}`, `oci:${out}:a`]);
    await run('skopeo', ['copy', '--quiet', `oci-archive:${file}`, `oci:${out}:b`]);
    const idx = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    expect(idx.manifests.map((m: { digest: string }) => m.digest)).toEqual([img.manifest.digest, img.manifest.digest]);
  });

  it('writes a docker-archive that skopeo reads (uncompressed layers named by diff_id)', async () => {
    const file = await save(['demo:1'], 'docker');
    const names = await tarList(file);
    expect(names.sort()).toEqual([...img.diffIds.map((d) => `${d.slice(7)}.tar`), `${img.config.digest.slice(7)}.json`, 'manifest.json'].sort());
    const { stdout } = await run('skopeo', ['inspect', '--config', '--raw', `docker-archive:${file}`]);
    expect(sha256Digest(stdout)).toBe(img.config.digest);
    const out = join(dir, 'skopeo-docker');
    await run('skopeo', ['copy', '--quiet', `docker-archive:${file}:${NAME}`, `oci:${out}:x`]);
    const inspect = JSON.parse((await run('skopeo', ['inspect', `oci:${out}:x`])).stdout);
    expect(inspect.Layers).toHaveLength(2);
    // skopeo rewrites the config when converting to OCI; the layers' content must survive.
    const cfg = JSON.parse((await run('skopeo', ['inspect', '--config', '--raw', `oci:${out}:x`])).stdout);
    expect(cfg.rootfs.diff_ids).toEqual(img.diffIds);
  });

  it('a docker-archive is accepted by buildah (containers/image, as podman load)', async () => {
    const file = await save(['demo:1'], 'docker');
    const b = join(dir, 'buildah');
    const args = ['--root', join(b, 'root'), '--runroot', join(b, 'run'), '--storage-driver', 'vfs'];
    await run('buildah', [...args, 'pull', '--quiet', `docker-archive:${file}`]);
    const { stdout } = await run('buildah', [...args, 'images', '--json']);
    const images = JSON.parse(stdout);
    expect(images[0].names).toContain('docker.io/library/demo:1');
    expect(img.config.digest.startsWith(`sha256:${images[0].id}`)).toBe(true);
  });

  it('saves several images, deduplicating shared layers', async () => {
    const other = await makeTestImage(store, { layers: [{ 'etc/os-release': 'ID=test\n', 'bin/hello': '#!/bin/sh\necho hi\n' }, { z: 'z' }] });
    await store.tag('localhost/other:2', other.manifest);
    const file = await save(['demo:1', 'localhost/other:2'], 'docker');
    const list = await tarList(file);
    expect(list.filter((p) => p.endsWith('.tar'))).toHaveLength(3);
    const loaded = await loadArchive(await freshStore(), createReadStream(file));
    expect(loaded.images.map((i) => i.names)).toEqual([[NAME], ['localhost/other:2']]);
  });
});

describe('loadArchive', () => {
  it('round-trips both formats', async () => {
    for (const format of ['oci', 'docker'] as const) {
      const file = await save([NAME], format);
      const target = await freshStore();
      const res = await loadArchive(target, createReadStream(file));
      expect(res.format).toBe(format);
      expect(res.images[0]!.names).toEqual([NAME]);
      const r = await resolveImage(target, 'demo:1');
      expect(r.configDescriptor.digest).toBe(img.config.digest);
      if (format === 'oci') expect(r.manifestDescriptor.digest).toBe(img.manifest.digest);
    }
  });

  it('loads archives that skopeo wrote (docker-archive and oci-archive)', async () => {
    const dockerFile = join(dir, 'skopeo-docker.tar');
    const ociFile = join(dir, 'skopeo-oci.tar');
    await run('skopeo', ['copy', '--quiet', `oci:${store.layoutDir}:${NAME}`, `docker-archive:${dockerFile}:localhost/from-skopeo:d`]);
    await run('skopeo', ['copy', '--quiet', `oci:${store.layoutDir}:${NAME}`, `oci-archive:${ociFile}:localhost/from-skopeo:o`]);
    const target = await freshStore();
    const d = await loadArchive(target, createReadStream(dockerFile));
    const o = await loadArchive(target, createReadStream(ociFile));
    expect(d.images[0]!.names).toEqual(['localhost/from-skopeo:d']);
    expect(o.images[0]!.names).toEqual(['localhost/from-skopeo:o']);
    expect((await resolveImage(target, 'localhost/from-skopeo:d')).config.rootfs.diff_ids).toEqual(img.diffIds);
    expect((await resolveImage(target, 'localhost/from-skopeo:o')).configDescriptor.digest).toBe(img.config.digest);
  });

  it('reads a gzip-compressed archive', async () => {
    const file = await save([NAME], 'docker');
    const gz = gzipSync(await readFile(file));
    const target = await freshStore();
    await loadArchive(target, Readable.from([gz]));
    expect((await resolveImage(target, NAME)).configDescriptor.digest).toBe(img.config.digest);
  });

  it('reads a legacy docker save archive with <id>/layer.tar, symlinked duplicates and gzip layers', async () => {
    const l1 = await makeLayerTar({ a: '1' });
    const l2 = gzipSync(await makeLayerTar({ b: '2' }));
    const diffIds = [sha256Digest(l1), sha256Digest(await makeLayerTar({ b: '2' })), sha256Digest(l1)];
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } });
    const cfgHex = sha256Digest(config).slice(7);
    const src = join(dir, 'legacy');
    const files: Record<string, string | Buffer> = {
      'aaa/layer.tar': l1,
      'aaa/json': '{}',
      'aaa/VERSION': '1.0',
      'bbb/layer.tar': l2,
      [`${cfgHex}.json`]: config,
      'manifest.json': JSON.stringify([{ Config: `${cfgHex}.json`, RepoTags: ['legacy:v1'], Layers: ['aaa/layer.tar', 'bbb/layer.tar', 'ccc/layer.tar'] }]),
    };
    for (const [p, c] of Object.entries(files)) {
      await (await import('node:fs/promises')).mkdir(join(src, p, '..'), { recursive: true });
      await writeFile(join(src, p), c);
    }
    await (await import('node:fs/promises')).mkdir(join(src, 'ccc'));
    await (await import('node:fs/promises')).symlink('../aaa/layer.tar', join(src, 'ccc/layer.tar'));
    const file = join(dir, 'legacy.tar');
    await tar.c({ cwd: src, file }, ['.']);
    const target = await freshStore();
    await loadArchive(target, createReadStream(file));
    const r = await resolveImage(target, 'legacy:v1', { platform: { os: 'linux', architecture: 'amd64' } });
    expect(r.manifest.layers.map((l) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar',
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.layer.v1.tar',
    ]);
  });

  it('fails cleanly (no hang) when an early blob is bad and large ones follow', async () => {
    const big = await makeTestImage(store, { layers: [{ 'big.bin': (await import('node:crypto')).randomBytes(3 << 20).toString('base64') }] });
    await store.tag('localhost/big:1', big.manifest);
    const file = await save(['localhost/big:1'], 'oci');
    const src = join(dir, 'early');
    await (await import('node:fs/promises')).mkdir(src);
    await tar.x({ file, cwd: src });
    const cfgPath = join(src, 'blobs/sha256', big.config.digest.slice(7));
    const cfg = await readFile(cfgPath);
    cfg[cfg.length - 3] ^= 0x01;
    await writeFile(cfgPath, cfg);
    const bad = join(dir, 'early.tar');
    // Config first, then the 4 MiB layer: the mismatch is found while the layer streams.
    await tar.c({ cwd: src, file: bad }, ['oci-layout', 'index.json', `blobs/sha256/${big.config.digest.slice(7)}`, `blobs/sha256/${big.layers[0]!.digest.slice(7)}`, `blobs/sha256/${big.manifest.digest.slice(7)}`]);
    const target = await freshStore();
    await expect(loadArchive(target, createReadStream(bad, { highWaterMark: 16 * 1024 }))).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    // Abort part-way through, at many points: never a hang, never a temp file left.
    for (const at of [1, 3, 10, 40, 120]) {
      const ac = new AbortController();
      let n = 0;
      const counter = new Transform({
        transform(c, _e, cb) {
          if (++n === at) ac.abort();
          cb(null, c);
        },
      });
      const s = await freshStore();
      await expect(loadArchive(s, createReadStream(file, { highWaterMark: 16 * 1024 }).pipe(counter), { signal: ac.signal })).rejects.toThrow();
      expect((await (await import('node:fs/promises')).readdir(s.tmpDir)).filter((f) => !f.startsWith('writer-'))).toEqual([]);
    }
    expect((await (await import('node:fs/promises')).readdir(target.tmpDir)).filter((f) => !f.startsWith('writer-'))).toEqual([]);
    expect(await target.list()).toEqual([]);
  });

  it('rejects tampered, incomplete and unknown archives', async () => {
    const file = await save([NAME], 'oci');
    const layerHex = img.layers[1]!.digest.slice(7);
    // Tamper: rewrite one blob's content but keep its name.
    const src = join(dir, 'x');
    await (await import('node:fs/promises')).mkdir(src);
    await tar.x({ file, cwd: src });
    const orig = await readFile(join(src, 'blobs/sha256', layerHex));
    orig[orig.length - 20] ^= 0xff;
    await writeFile(join(src, 'blobs/sha256', layerHex), orig);
    const bad = join(dir, 'bad.tar');
    await tar.c({ cwd: src, file: bad }, ['oci-layout', 'index.json', 'blobs']);
    const target = await freshStore();
    await expect(loadArchive(target, createReadStream(bad))).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(await target.list()).toEqual([]);
    // Incomplete: drop that blob.
    await rm(join(src, 'blobs/sha256', layerHex));
    await tar.c({ cwd: src, file: bad }, ['oci-layout', 'index.json', 'blobs']);
    await expect(loadArchive(target, createReadStream(bad))).rejects.toMatchObject({ code: 'MISSING_BLOB' });
    expect(await target.list()).toEqual([]);
    // Neither format.
    await tar.c({ cwd: src, file: bad }, ['oci-layout']);
    await expect(loadArchive(target, createReadStream(bad))).rejects.toMatchObject({ code: 'INVALID_ARCHIVE' });
    // Docker archive whose layer does not match the config's diff_id.
    const dfile = await save([NAME], 'docker');
    const dsrc = join(dir, 'd');
    await (await import('node:fs/promises')).mkdir(dsrc);
    await tar.x({ file: dfile, cwd: dsrc });
    const lp = join(dsrc, `${img.diffIds[0]!.slice(7)}.tar`);
    await writeFile(lp, Buffer.concat([await readFile(lp), Buffer.alloc(512)]));
    await tar.c({ cwd: dsrc, file: bad }, ['.']);
    await expect(loadArchive(target, createReadStream(bad))).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
});
