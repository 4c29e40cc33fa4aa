import type { Readable } from 'node:stream';
import type { Descriptor, Digest } from './oci/types.js';

/**
 * Content-addressed blob storage (the local OCI image layout implements it).
 *
 * Contract, for every implementation:
 * - `write`/`writer` are atomic: a blob appears under its digest only when
 *   complete and verified; a crash or abort leaves no partial blob visible.
 * - Writing a blob that already exists is a no-op that still verifies input.
 * - `read` streams bytes; `readVerified` also fails the stream if the bytes
 *   do not hash to the digest (use it on anything that crosses a trust line).
 */
export interface ContentStore {
  /** The size of a stored blob, or undefined when absent. */
  stat(digest: Digest): Promise<{ size: number } | undefined>;
  /** A stream of a stored blob's bytes; rejects with code ENOENT-like `BLOB_UNKNOWN` when absent. */
  read(digest: Digest, signal?: AbortSignal): Promise<Readable>;
  /** The bytes of a small blob (manifests, configs), verified against the digest. */
  readBytes(digest: Digest, signal?: AbortSignal): Promise<Buffer>;
  /** Stores a stream; verifies `expected` digest/size when given; returns what was stored. */
  write(
    data: Readable | AsyncIterable<Uint8Array>,
    expected?: { digest?: Digest; size?: number },
    signal?: AbortSignal,
  ): Promise<{ digest: Digest; size: number }>;
  /** Stores bytes (manifests, configs) and returns their descriptor. */
  writeBytes(bytes: Uint8Array, mediaType: string, signal?: AbortSignal): Promise<Descriptor>;
  /** A path on disk holding the blob, for tools that want a file (may not exist for remote stores). */
  blobPath?(digest: Digest): string;
}

/**
 * Names -> manifest descriptors (index.json of the OCI layout).
 * Updates are serialised across processes by a lock on the index.
 */
export interface ImageIndex {
  /** The descriptor stored under a name, if any. */
  resolve(name: string): Promise<Descriptor | undefined>;
  /** Points a name at a descriptor (replacing any earlier one). */
  tag(name: string, descriptor: Descriptor): Promise<void>;
  /** Removes a name; returns whether it existed. */
  untag(name: string): Promise<boolean>;
  /** All names and their descriptors. */
  list(): Promise<Array<{ name: string; descriptor: Descriptor }>>;
}
