import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CompressionLevelError, compressAndDigest, parallelGzip } from './compress.js';
import { decompressLayer } from './decompress.js';
import { UnsupportedMediaTypeError } from './errors.js';
import { nativeGzip } from './native-fs.js';
import { fileSink } from './testing/file-sink.js';

const dir = fs.mkdtempSync(join(tmpdir(), 'rbuild-cz-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
// Compressible and incompressible parts, not a multiple of the block size.
const data = Buffer.concat([Buffer.from('hello tar '.repeat(300_000)), randomBytes(1_500_123)]);
const chunks = (b: Buffer, n: number) => Readable.from(Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n)));

describe('compressAndDigest', () => {
  it('parallel gzip: a valid multi-member stream, digests right, output in order and deterministic', async () => {
    const sink = fileSink(dir);
    const a = await compressAndDigest(chunks(data, 77_777), sink, { compression: 'gzip', blockSize: 256 * 1024, parallel: 3 });
    const b = await compressAndDigest(chunks(data, 1 << 20), sink, { compression: 'gzip', blockSize: 256 * 1024, parallel: 2 });
    expect(a).toEqual(b);
    expect(a.diffId).toBe(sha(data));
    expect(a.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    const blob = fs.readFileSync(sink.path(a.digest));
    expect(sha(blob)).toBe(a.digest);
    expect(blob.length).toBe(a.size);
    expect(gunzipSync(blob).equals(data)).toBe(true);
    expect(execFileSync('gzip', ['-dc', sink.path(a.digest)], { maxBuffer: 1 << 26 }).equals(data)).toBe(true);
  });

  it('levels change the output; none stores the tar as is', async () => {
    const sink = fileSink(dir);
    const fast = await compressAndDigest(chunks(data, 1 << 16), sink, { compression: 'gzip', level: 1 });
    const best = await compressAndDigest(chunks(data, 1 << 16), sink, { compression: 'gzip', level: 9 });
    expect(fast.digest).not.toBe(best.digest);
    const none = await compressAndDigest(chunks(data, 1 << 16), sink, { compression: 'none' });
    expect(none.digest).toBe(sha(data));
    expect(none.diffId).toBe(sha(data));
    expect(none.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
  });

  it('zstd output through the zstd program, and zstd layers decompress', async () => {
    const sink = fileSink(dir);
    const z = await compressAndDigest(chunks(data, 1 << 16), sink, { compression: 'zstd' });
    expect(z.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(execFileSync('zstd', ['-dc', sink.path(z.digest)], { maxBuffer: 1 << 26 }).equals(data)).toBe(true);
    const out = await decompressLayer(fs.createReadStream(sink.path(z.digest)), z.mediaType);
    const parts: Buffer[] = [];
    for await (const c of out) parts.push(c as Buffer);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('gzip is one libdeflate member per block, concatenated in order (a multi-member stream)', async () => {
    const sink = fileSink(dir);
    const block = 300_000;
    const a = await compressAndDigest(chunks(data, 65_536), sink, { compression: 'gzip', level: 6, blockSize: block, parallel: 4 });
    const members: Buffer[] = [];
    for (let off = 0; off < data.length; off += block) members.push(await nativeGzip().gzipMember(data.subarray(off, off + block), 6));
    expect(members.length).toBeGreaterThan(10);
    const blob = fs.readFileSync(sink.path(a.digest));
    expect(blob.equals(Buffer.concat(members))).toBe(true);
    // Each member stands alone: the tar can be read from any block boundary.
    expect(gunzipSync(members[3]!).equals(data.subarray(3 * block, 4 * block))).toBe(true);
  });

  it('an empty layer is one valid empty gzip member', async () => {
    const sink = fileSink(dir);
    const e = await compressAndDigest(Readable.from([]), sink, { compression: 'gzip' });
    const blob = fs.readFileSync(sink.path(e.digest));
    expect(gunzipSync(blob).length).toBe(0);
    expect(e.diffId).toBe(sha(Buffer.alloc(0)));
    expect(execFileSync('gzip', ['-dc', sink.path(e.digest)]).length).toBe(0);
  });

  it('every level 0-9 round-trips; other levels are refused before any work', async () => {
    const sink = fileSink(dir);
    const sizes: number[] = [];
    for (let level = 0; level <= 9; level++) {
      const r = await compressAndDigest(chunks(data, 1 << 16), sink, { compression: 'gzip', level, blockSize: 1 << 20 });
      expect(gunzipSync(fs.readFileSync(sink.path(r.digest))).equals(data)).toBe(true);
      sizes.push(r.size);
    }
    expect(sizes[0]).toBeGreaterThan(data.length);
    expect(sizes[6]).toBeLessThan(sizes[0]! * 0.6);
    for (const level of [10, -1, 1.5, Number.NaN]) {
      await expect(compressAndDigest(chunks(data, 1 << 16), sink, { compression: 'gzip', level })).rejects.toBeInstanceOf(CompressionLevelError);
    }
  });

  it('a large layer (64 MiB, default block and parallelism) round-trips through gunzip', async () => {
    const sink = fileSink(dir);
    const big = Buffer.concat([randomBytes(32 << 20), Buffer.from(randomBytes(24 << 20).toString('base64'))]);
    const r = await compressAndDigest(chunks(big, 1 << 20), sink, { compression: 'gzip' });
    expect(r.diffId).toBe(sha(big));
    expect(execFileSync('gzip', ['-dc', sink.path(r.digest)], { maxBuffer: 1 << 28 }).equals(big)).toBe(true);
    fs.rmSync(sink.path(r.digest));
  });

  it('keeps at most `parallel` blocks in flight, emits in order, and surfaces a failed block', async () => {
    let now = 0;
    let peak = 0;
    const member = async (b: Uint8Array, _level: number) => {
      peak = Math.max(peak, ++now);
      // Finish out of order: later blocks first.
      await new Promise((r) => setTimeout(r, 20 - (b[0]! % 20)));
      now--;
      return Buffer.from(b);
    };
    const src = Readable.from(Array.from({ length: 40 }, (_, i) => Buffer.alloc(1000, i)));
    const out: Buffer[] = [];
    for await (const c of parallelGzip(src, 6, 1000, 3, undefined, member)) out.push(c);
    expect(peak).toBe(3);
    expect(out.map((b) => b[0])).toEqual(Array.from({ length: 40 }, (_, i) => i));

    const failing = async (b: Uint8Array) => {
      if (b[0] === 5) throw new Error('block 5 failed');
      return Buffer.from(b);
    };
    const src2 = Readable.from(Array.from({ length: 10 }, (_, i) => Buffer.alloc(10, i)));
    await expect(async () => {
      for await (const _ of parallelGzip(src2, 6, 10, 3, undefined, failing));
    }).rejects.toThrow('block 5 failed');
  });

  it('stops at an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort(new Error('cancelled'));
    await expect(compressAndDigest(chunks(data, 1 << 16), fileSink(dir), { compression: 'gzip' }, ac.signal)).rejects.toThrow();
  });

  it('refuses media types that are not layers', async () => {
    await expect(decompressLayer(Readable.from([Buffer.from('x')]), 'application/vnd.oci.image.config.v1+json')).rejects.toBeInstanceOf(UnsupportedMediaTypeError);
  });
});

describe('layerFromDirectory', () => {
  it('archives a staged tree as a layer, deterministic with SOURCE_DATE_EPOCH', async () => {
    const { layerFromDirectory } = await import('./diff.js');
    const src = join(dir, 'staged');
    fs.mkdirSync(join(src, 'app'), { recursive: true });
    fs.writeFileSync(join(src, 'app/main.js'), 'console.log(1)');
    fs.chownSync(join(src, 'app/main.js'), 1000, 1000);
    const sink = fileSink(dir);
    const a = await layerFromDirectory(src, sink, { compression: 'gzip', sourceDateEpoch: 0 });
    const b = await layerFromDirectory(src, sink, { compression: 'gzip', sourceDateEpoch: 0 });
    expect(a).toEqual(b);
    const listing = execFileSync('tar', ['--numeric-owner', '-tvzf', sink.path(a!.digest)], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    expect(listing).toMatch(/-rw-r--r-- 1000\/1000 +14 1970-01-01 00:00 app\/main.js/);
    fs.mkdirSync(join(dir, 'nothing'));
    expect(await layerFromDirectory(join(dir, 'nothing'), sink, { compression: 'gzip' })).toBeNull();
  });
});

describe('multi-member layers read by Go (umoci: compress/gzip via pgzip)', () => {
  it('umoci unpacks a layer of several libdeflate members to the same bytes', async () => {
    const { layerFromDirectory } = await import('./diff.js');
    const src = join(dir, 'go-src');
    fs.mkdirSync(src);
    const content = Buffer.concat([randomBytes(1_200_000), Buffer.from('layer text '.repeat(250_000))]);
    fs.writeFileSync(join(src, 'big'), content);
    const layout = join(dir, 'go-layout');
    const blobs = join(layout, 'blobs/sha256');
    const layer = (await layerFromDirectory(src, fileSink(blobs), { compression: 'gzip' }))!; // 1 MiB blocks
    const members = [...fs.readFileSync(join(blobs, layer.digest.slice(7))).toString('latin1').matchAll(/\x1f\x8b\x08/g)].length;
    expect(members).toBeGreaterThanOrEqual(4);
    const put = (b: Buffer) => {
      const digest = sha(b);
      fs.writeFileSync(join(blobs, digest.slice(7)), b);
      return { digest, size: b.length };
    };
    const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [layer.diffId] } })));
    const manifest = put(Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
    })));
    fs.writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    fs.writeFileSync(join(layout, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
    }));
    const bundle = join(dir, 'go-bundle');
    execFileSync('umoci', ['unpack', '--image', `${layout}:latest`, bundle], { stdio: 'pipe' });
    expect(fs.readFileSync(join(bundle, 'rootfs/big')).equals(content)).toBe(true);
  });
});
