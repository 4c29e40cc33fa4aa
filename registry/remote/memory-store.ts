/**
 * An in-memory ContentStore + ImageIndex: verifies digests like the real
 * store, for unit tests and for callers that want no disk (e.g. `inspect`).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ContentStore, ImageIndex } from '../content-store.js';
import type { Descriptor, Digest } from '../oci/types.js';

/** Thrown when stored bytes do not match the expected digest or size, or a blob is absent. */
export class MemoryStoreError extends Error {
  constructor(
    readonly code: 'BLOB_UNKNOWN' | 'DIGEST_MISMATCH' | 'SIZE_MISMATCH',
    message: string,
  ) {
    super(message);
    this.name = 'MemoryStoreError';
  }
}

/** A ContentStore and ImageIndex held in memory. */
export class MemoryStore implements ContentStore, ImageIndex {
  readonly blobs = new Map<Digest, Buffer>();
  readonly names = new Map<string, Descriptor>();
  /** Counts of write() calls per digest (tests check nothing is fetched twice). */
  readonly writes = new Map<Digest, number>();

  async stat(digest: Digest): Promise<{ size: number } | undefined> {
    const b = this.blobs.get(digest);
    return b ? { size: b.length } : undefined;
  }

  async read(digest: Digest): Promise<Readable> {
    const b = this.blobs.get(digest);
    if (!b) throw new MemoryStoreError('BLOB_UNKNOWN', `blob ${digest} not in store`);
    return Readable.from([b]);
  }

  async readBytes(digest: Digest): Promise<Buffer> {
    const b = this.blobs.get(digest);
    if (!b) throw new MemoryStoreError('BLOB_UNKNOWN', `blob ${digest} not in store`);
    return b;
  }

  async write(
    data: Readable | AsyncIterable<Uint8Array>,
    expected: { digest?: Digest; size?: number } = {},
  ): Promise<{ digest: Digest; size: number }> {
    const chunks: Buffer[] = [];
    for await (const c of data) chunks.push(Buffer.from(c));
    const bytes = Buffer.concat(chunks);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    if (expected.size !== undefined && expected.size !== bytes.length) {
      throw new MemoryStoreError('SIZE_MISMATCH', `expected ${expected.size} bytes, got ${bytes.length}`);
    }
    if (expected.digest && expected.digest !== digest) {
      throw new MemoryStoreError('DIGEST_MISMATCH', `expected ${expected.digest}, got ${digest}`);
    }
    this.writes.set(digest, (this.writes.get(digest) ?? 0) + 1);
    this.blobs.set(digest, bytes);
    return { digest, size: bytes.length };
  }

  async writeBytes(bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
    const { digest, size } = await this.write(Readable.from([Buffer.from(bytes)]));
    return { mediaType, digest, size };
  }

  async resolve(name: string): Promise<Descriptor | undefined> {
    return this.names.get(name);
  }

  async tag(name: string, descriptor: Descriptor): Promise<void> {
    this.names.set(name, descriptor);
  }

  async untag(name: string): Promise<boolean> {
    return this.names.delete(name);
  }

  async list(): Promise<Array<{ name: string; descriptor: Descriptor }>> {
    return [...this.names].map(([name, descriptor]) => ({ name, descriptor }));
  }
}
