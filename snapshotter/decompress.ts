/**
 * Layer decompression: picks gzip, zstd or none from the media type and the
 * stream's magic bytes (registries sometimes mislabel), and returns the
 * uncompressed bytes as a stream. zstd goes through the `zstd` program because
 * Node 20's zlib has no zstd and no maintained pure-JS streaming decoder is
 * fast enough; a missing program is a clear UnsupportedMediaTypeError.
 */
import { spawn } from 'node:child_process';
import { PassThrough, Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UnsupportedMediaTypeError } from './errors.js';

/** Compression of a layer blob. */
export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** The compression a layer media type declares; throws for media types that are not layers. */
export function compressionOfMediaType(mediaType: string): LayerCompression {
  const m = mediaType.toLowerCase();
  if (m.endsWith('+gzip') || m.endsWith('.tar.gzip') || m.endsWith('.tar.gz')) return 'gzip';
  if (m.endsWith('+zstd')) return 'zstd';
  if (m.endsWith('.tar') || m.endsWith('layer.v1.tar') || m === 'application/x-tar') return 'none';
  throw new UnsupportedMediaTypeError(`unsupported layer media type ${mediaType}`);
}

/** The compression the first bytes show (gzip/zstd magic), or 'none'. */
export function sniffCompression(head: Buffer): LayerCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** Reads the first chunk to sniff, then returns a stream yielding everything (first chunk included). */
async function peek(src: Readable): Promise<{ head: Buffer; stream: Readable }> {
  const it = src[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : Buffer.from(first.value as Buffer);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value as Buffer;
    }
  }
  return { head, stream: Readable.from(all(), { objectMode: false }) };
}

/** The uncompressed bytes of a layer blob. `mediaType` is checked to be a layer type; the bytes decide. */
export async function decompressLayer(src: Readable, mediaType: string, signal?: AbortSignal): Promise<Readable> {
  compressionOfMediaType(mediaType); // refuse non-layer media types early
  const { head, stream } = await peek(src);
  const kind = sniffCompression(head);
  if (kind === 'none') return stream;
  if (kind === 'gzip') {
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    pipeline(stream, createGunzip({ chunkSize: 256 * 1024 }), out, () => {});
    return out;
  }
  return zstdDecompress(stream, signal);
}

/** Pipes bytes through `zstd -d`. */
function zstdDecompress(src: Readable, signal?: AbortSignal): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'], signal });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.on('error', (e: NodeJS.ErrnoException) => {
    out.destroy(
      e.code === 'ENOENT'
        ? new UnsupportedMediaTypeError('zstd layers need the `zstd` program (Debian package zstd)')
        : e,
    );
  });
  pipeline(src, child.stdin, () => {});
  child.stdout.pipe(out, { end: false });
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new UnsupportedMediaTypeError(`zstd -d failed (exit ${code}): ${stderr.trim()}`));
  });
  return out;
}
