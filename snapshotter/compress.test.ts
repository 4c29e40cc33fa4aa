import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { compressAndDigest } from './compress.js';
import { decompressLayer } from './decompress.js';
import { UnsupportedMediaTypeError } from './errors.js';
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
