/**
 * The local image store: an OCI image layout at `<root>/oci` (oci-layout,
 * index.json, blobs/<alg>/<hex>), readable by skopeo (`oci:<root>/oci:<name>`)
 * and umoci. Names in index.json are full normalised references
 * (`docker.io/library/busybox:latest`) in `org.opencontainers.image.ref.name`,
 * so that one layout can hold images from many repositories.
 *
 * Temp files live in `<root>/tmp` (same file system, so rename is atomic).
 * The index lock is `<root>/tmp/index.json.lock`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { addAbortSignal, Readable } from 'node:stream';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { ContentStore, ImageIndex } from '../content-store.js';
import { AnnotationRefName, MediaType } from '../oci/types.js';
import type { Descriptor, Digest, Index } from '../oci/types.js';
import { canonicalJson, isDigest, parseJson, validateIndex } from '../oci/validate.js';
import { sha256Hex } from '../oci/sha256.js';
import { withFileLock } from './file-lock.js';
import { StoreError } from './store-error.js';
import { verifyingStream } from './verify-stream.js';

/** Options of a store. */
export interface StoreOptions {
  /** fsync blob and index files before renaming them into place (default true). */
  fsync?: boolean;
}

/** One blob on disk, as the sweep of `prune` sees it. */
export interface BlobEntry {
  digest: Digest;
  size: number;
  mtimeMs: number;
}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

/** An OCI image layout on the local file system; blob store and name index in one. */
export class OciLayoutStore implements ContentStore, ImageIndex {
  /** The store root (`--root`). */
  readonly root: string;
  /** The OCI layout directory, `<root>/oci`. */
  readonly layoutDir: string;
  /** Temp files, `<root>/tmp`. */
  readonly tmpDir: string;
  private readonly fsync: boolean;

  constructor(root: string, opts: StoreOptions = {}) {
    this.root = root;
    this.layoutDir = join(root, 'oci');
    this.tmpDir = join(root, 'tmp');
    this.fsync = opts.fsync ?? true;
  }

  /** Creates the layout when absent (safe when several processes do it at once). */
  async init(): Promise<void> {
    // Synchronous: on an existing store these are a few metadata calls, each an awaited threadpool
    // round trip otherwise (the same goes for stat, readBytes and readIndex below).
    mkdirSync(join(this.layoutDir, 'blobs', 'sha256'), { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
    await this.createIfAbsent(join(this.layoutDir, 'oci-layout'), Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    await this.createIfAbsent(join(this.layoutDir, 'index.json'), canonicalJson(emptyIndex()));
  }

  /** The path of a blob in the layout (whether or not it exists). */
  blobPath(digest: Digest): string {
    if (!isDigest(digest)) throw new StoreError('INVALID_DIGEST', `not a valid digest: ${JSON.stringify(digest)}`);
    const i = digest.indexOf(':');
    return join(this.layoutDir, 'blobs', digest.slice(0, i), digest.slice(i + 1));
  }

  /** The size of a stored blob, or undefined when absent. */
  async stat(digest: Digest): Promise<{ size: number } | undefined> {
    try {
      const st = statSync(this.blobPath(digest));
      return { size: st.size };
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  /** A stream of a stored blob (not verified; see readVerified). Rejects with `BLOB_UNKNOWN` when absent. */
  async read(digest: Digest, signal?: AbortSignal): Promise<Readable> {
    signal?.throwIfAborted();
    let fh;
    try {
      fh = await open(this.blobPath(digest), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new StoreError('BLOB_UNKNOWN', `blob ${digest} is not in the store`, { cause: err });
      throw err;
    }
    const s = fh.createReadStream({ highWaterMark: 1 << 20 });
    return signal ? addAbortSignal(signal, s) : s;
  }

  /** Like read, but the stream errors (`DIGEST_MISMATCH`) if the bytes on disk do not hash to the digest. */
  async readVerified(digest: Digest, signal?: AbortSignal): Promise<Readable> {
    const src = await this.read(digest, signal);
    const check = verifyingStream(digest, undefined, `stored blob ${digest}`);
    src.on('error', (e) => check.destroy(e));
    return src.pipe(check);
  }

  /** The bytes of a blob, verified against its digest. */
  async readBytes(digest: Digest, signal?: AbortSignal): Promise<Buffer> {
    let bytes: Buffer;
    try {
      signal?.throwIfAborted();
      bytes = readFileSync(this.blobPath(digest));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new StoreError('BLOB_UNKNOWN', `blob ${digest} is not in the store`, { cause: err });
      throw err;
    }
    const alg = digest.slice(0, digest.indexOf(':'));
    const got = `${alg}:${alg === 'sha256' ? sha256Hex(bytes) : createHash(alg).update(bytes).digest('hex')}`;
    if (got !== digest) {
      throw new StoreError('DIGEST_MISMATCH', `stored blob ${digest} is corrupt: it hashes to ${got} (${this.blobPath(digest)})`);
    }
    return bytes;
  }

  /**
   * Stores a stream: into a temp file, hashed on the way, fsynced (flushed early while it
   * arrives, see BlobFileWriter), checked
   * against `expected`, then renamed into place. Returns what was stored. Pieces are gathered
   * (up to 1 MiB) before being written, so a producer must not reuse a piece it has handed on
   * (the rule of Node streams: fs, zlib, sockets and undici all hand on fresh buffers).
   */
  async write(
    data: Readable | AsyncIterable<Uint8Array>,
    expected: { digest?: Digest; size?: number } = {},
    signal?: AbortSignal,
  ): Promise<{ digest: Digest; size: number }> {
    if (expected.digest !== undefined && !isDigest(expected.digest)) {
      throw new StoreError('INVALID_DIGEST', `not a valid digest: ${JSON.stringify(expected.digest)}`);
    }
    const alg = expected.digest ? expected.digest.slice(0, expected.digest.indexOf(':')) : 'sha256';
    // A source that stalls must still stop on abort, not only between chunks.
    if (signal && data instanceof Readable) addAbortSignal(signal, data);
    await this.markWriter();
    // Already stored: still consume and verify the input (the contract), but write nothing.
    // Touching it first makes a concurrent prune spare it while we read.
    const present = expected.digest !== undefined && (await this.touchIfPresent(expected.digest));
    const hash = createHash(alg);
    const tmp = present ? undefined : this.tmpName('blob');
    const fh = tmp === undefined ? undefined : await open(tmp, 'wx', 0o644);
    const out = fh && new BlobFileWriter(fh, this.fsync);
    let size = 0;
    let ok = false;
    try {
      for await (const chunk of data as AsyncIterable<Uint8Array>) {
        signal?.throwIfAborted();
        size += chunk.byteLength;
        // Stop early on oversized input rather than filling the disk.
        if (expected.size !== undefined && size > expected.size) {
          throw new StoreError('SIZE_MISMATCH', `blob ${expected.digest ?? ''} is larger than the expected ${expected.size} bytes`);
        }
        hash.update(chunk);
        await out?.add(chunk);
      }
      signal?.throwIfAborted();
      await out?.finish();
      await fh?.close();
      const digest = `${alg}:${hash.digest('hex')}` as Digest;
      if (expected.size !== undefined && size !== expected.size) {
        throw new StoreError('SIZE_MISMATCH', `blob ${expected.digest ?? digest}: expected ${expected.size} bytes, got ${size}`);
      }
      if (expected.digest !== undefined && digest !== expected.digest) {
        throw new StoreError('DIGEST_MISMATCH', `blob ${expected.digest}: content hashes to ${digest}`);
      }
      if (tmp !== undefined) await this.commit(tmp, digest);
      else if (!(await this.touchIfPresent(digest))) {
        // Deleted behind the store's back while we read it: the caller must send it again.
        throw new StoreError('BLOB_UNKNOWN', `blob ${digest} disappeared from the store while being written again; retry`);
      }
      ok = true;
      return { digest, size };
    } finally {
      if (!ok) {
        await out?.abandon();
        await fh?.close().catch(() => undefined);
        if (tmp !== undefined) await unlink(tmp).catch(() => undefined);
      }
    }
  }

  /** Stores bytes (manifests, configs) and returns their sha256 descriptor. */
  async writeBytes(bytes: Uint8Array, mediaType: string, signal?: AbortSignal): Promise<Descriptor> {
    signal?.throwIfAborted();
    const digest = `sha256:${sha256Hex(bytes)}` as Digest;
    const desc: Descriptor = { mediaType, digest, size: bytes.byteLength };
    await this.markWriter();
    if (await this.touchIfPresent(digest)) return desc;
    const tmp = this.tmpName('blob');
    try {
      await this.writeFileSynced(tmp, bytes);
      await this.commit(tmp, digest);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return desc;
  }

  /** Deletes a blob (used by prune); returns whether it existed. */
  async deleteBlob(digest: Digest): Promise<boolean> {
    try {
      await unlink(this.blobPath(digest));
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  /** Every blob on disk with its size and modification time. */
  async listBlobs(): Promise<BlobEntry[]> {
    const out: BlobEntry[] = [];
    const blobs = join(this.layoutDir, 'blobs');
    for (const alg of await readdir(blobs)) {
      for (const hex of await readdir(join(blobs, alg))) {
        const digest = `${alg}:${hex}`;
        if (!isDigest(digest)) continue;
        try {
          const st = await stat(join(blobs, alg, hex));
          out.push({ digest, size: st.size, mtimeMs: st.mtimeMs });
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
        }
      }
    }
    return out;
  }

  /**
   * The earliest time from which a live writer process (other than this one)
   * may have written blobs it has not referenced yet; prune spares blobs
   * modified since. Undefined when no other writer is alive.
   */
  async liveWritersSince(): Promise<number | undefined> {
    let since: number | undefined;
    for (const f of await readdir(this.tmpDir)) {
      const m = /^writer-(\d+)$/.exec(f);
      if (!m || Number(m[1]) === process.pid || !pidAlive(Number(m[1]))) continue;
      try {
        const t = (await stat(join(this.tmpDir, f))).mtimeMs;
        since = since === undefined ? t : Math.min(since, t);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    return since;
  }

  // A process that writes blobs leaves `tmp/writer-<pid>` (mtime = its first
  // write) until it exits: its blobs may not be referenced by index.json yet
  // (a pull or build in progress), and prune must not take them meanwhile.
  private async markWriter(): Promise<void> {
    const path = join(this.tmpDir, `writer-${process.pid}`);
    if (writerMarks.has(path)) return;
    writerMarks.add(path);
    // Synchronous, like the touch below: two metadata calls, once per process.
    closeSync(openSync(path, 'a'));
    if (writerMarks.size === 1) {
      process.once('exit', () => {
        for (const p of writerMarks) {
          try {
            unlinkSync(p);
          } catch {
            // Already gone (or the store was removed); nothing to clean.
          }
        }
      });
    }
  }

  /** Removes temp files of dead writers last touched before `beforeMs`; returns how many. */
  async removeStaleTemp(beforeMs: number): Promise<number> {
    let n = 0;
    for (const f of await readdir(this.tmpDir)) {
      const m = /^(?:blob|index|init|writer)-(\d+)(?:-[0-9a-f]+)?$/.exec(f);
      if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
      try {
        if ((await stat(join(this.tmpDir, f))).mtimeMs >= beforeMs) continue;
        await unlink(join(this.tmpDir, f));
        n++;
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    return n;
  }

  // ---- ImageIndex: names in index.json ----

  /** The descriptor stored under an exact (already normalised) name. */
  async resolve(name: string): Promise<Descriptor | undefined> {
    const entry = (await this.list()).find((e) => e.name === name);
    return entry?.descriptor;
  }

  /** Points a name at a descriptor, replacing any earlier entry with that name. */
  async tag(name: string, descriptor: Descriptor, signal?: AbortSignal): Promise<void> {
    if (name === '' || /\s/.test(name)) throw new StoreError('INVALID_NAME', `invalid image name ${JSON.stringify(name)}`);
    const entry: Descriptor = { ...descriptor, annotations: { ...stripRefName(descriptor).annotations, [AnnotationRefName]: name } };
    // Already so (a rebuild that changed nothing): no lock, no rewrite, no fsync. Reading without
    // the lock is safe: a concurrent tag of the same name is simply ordered after this one.
    const named = (await this.readIndex()).manifests.filter((m) => m.annotations?.[AnnotationRefName] === name);
    if (named.length === 1 && canonicalJson(named[0]).equals(canonicalJson(entry))) return;
    await this.updateIndex((ms) => [...ms.filter((m) => m.annotations?.[AnnotationRefName] !== name), entry], signal);
  }

  /** Removes a name; returns whether it existed. */
  async untag(name: string, signal?: AbortSignal): Promise<boolean> {
    let found = false;
    await this.updateIndex((ms) => {
      const rest = ms.filter((m) => m.annotations?.[AnnotationRefName] !== name);
      found = rest.length !== ms.length;
      return rest;
    }, signal);
    return found;
  }

  /** All named entries (the ref.name annotation is moved out of the descriptor into `name`). */
  async list(): Promise<Array<{ name: string; descriptor: Descriptor }>> {
    const out: Array<{ name: string; descriptor: Descriptor }> = [];
    for (const m of (await this.readIndex()).manifests) {
      const name = m.annotations?.[AnnotationRefName];
      if (name !== undefined) out.push({ name, descriptor: stripRefName(m) });
    }
    return out;
  }

  /** Every index.json entry, named or not, as stored. */
  async entries(): Promise<Descriptor[]> {
    return (await this.readIndex()).manifests;
  }

  /** Applies `fn` to index.json's entries under the cross-process lock and writes the result atomically. */
  async updateIndex(fn: (manifests: Descriptor[]) => Descriptor[], signal?: AbortSignal): Promise<void> {
    await withFileLock(
      join(this.tmpDir, 'index.json.lock'),
      async () => {
        const index = await this.readIndex();
        const next: Index = { ...index, schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: fn(index.manifests) };
        const tmp = this.tmpName('index');
        try {
          await this.writeFileSynced(tmp, canonicalJson(next));
          // Blob renames must be durable before index.json can name them after a crash.
          if (this.fsync) await syncDir(join(this.layoutDir, 'blobs', 'sha256'));
          await rename(tmp, join(this.layoutDir, 'index.json'));
          if (this.fsync) await syncDir(this.layoutDir);
        } catch (err) {
          await unlink(tmp).catch(() => undefined);
          throw err;
        }
      },
      { signal },
    );
  }

  /** index.json, validated. */
  async readIndex(): Promise<Index> {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(this.layoutDir, 'index.json'));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return emptyIndex();
      throw err;
    }
    return validateIndex(parseJson(bytes, Number.MAX_SAFE_INTEGER));
  }

  // ---- internals ----

  private tmpName(kind: string): string {
    // The pid in the name lets prune tell a live writer's temp file from a crashed one's.
    return join(this.tmpDir, `${kind}-${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  private async writeFileSynced(path: string, bytes: Uint8Array): Promise<void> {
    const fh = await open(path, 'wx', 0o644);
    try {
      await fh.writeFile(bytes);
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
  }

  // Moves a verified temp file to its digest's name. If the blob is already
  // there, keep the old one and refresh its mtime: prune only removes blobs
  // older than its start, so a blob someone is about to reference survives.
  private async commit(tmp: string, digest: Digest): Promise<void> {
    if (await this.touchIfPresent(digest)) {
      await unlink(tmp).catch(() => undefined);
      return;
    }
    const dest = this.blobPath(digest);
    try {
      await rename(tmp, dest);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      await mkdir(join(dest, '..'), { recursive: true });
      await rename(tmp, dest);
    }
  }

  private async touchIfPresent(digest: Digest): Promise<boolean> {
    const now = new Date();
    try {
      utimesSync(this.blobPath(digest), now, now);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      // A read-only store (someone else's): existence is what matters.
      if (isErrno(err, 'EPERM') || isErrno(err, 'EACCES') || isErrno(err, 'EROFS')) return (await this.stat(digest)) !== undefined;
      throw err;
    }
  }

  // Creates a file only if absent, atomically and without clobbering a
  // concurrent creator's (possibly already updated) file: write temp, link().
  private async createIfAbsent(path: string, bytes: Uint8Array): Promise<void> {
    try {
      statSync(path);
      return;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    const tmp = this.tmpName('init');
    await this.writeFileSynced(tmp, bytes);
    try {
      await link(tmp, path);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }
}

/** Bytes gathered before one writev (pieces arrive as ~64 KiB socket reads). */
const WRITE_BATCH = 1 << 20;
/** Written bytes between two early flushes of a blob being written. */
const FLUSH_EVERY = 32 << 20;
/**
 * Blob fsyncs in flight in this process. Each holds one of libuv's 4 threadpool threads until
 * the disk is done; four at once (a pull's parallel blobs finishing together) would leave no
 * thread for the writes and reads of the others, whose sockets would then stall. The disk
 * writes no faster for more of them (one fsync already queues all of a file's dirty pages).
 */
const blobSyncs = pLimit(2);

/**
 * Writes one blob's temp file: pieces gathered into writev calls (no copy), and, when the
 * store fsyncs, early fdatasyncs in the background so the disk writes the blob while it is
 * still arriving. Without them nothing reaches the disk before the final fsync (dirty pages
 * stay in memory until 10% of RAM is dirty), and the pull ends with the whole last blob's
 * write-out (a 512 MiB blob: 2-3 s at this project's machines' disk speed).
 */
class BlobFileWriter {
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private sinceFlush = 0;
  private flushing: Promise<void> | undefined;
  private flushError: unknown;

  constructor(
    private readonly fh: FileHandle,
    private readonly fsync: boolean,
  ) {}

  /** Queues a piece; writes when a batch is full. */
  async add(chunk: Uint8Array): Promise<void> {
    this.batch.push(chunk);
    this.batchBytes += chunk.byteLength;
    if (this.batchBytes >= WRITE_BATCH) await this.writeBatch();
  }

  /** Writes what is queued and makes the file durable (when the store fsyncs). */
  async finish(): Promise<void> {
    await this.writeBatch();
    await this.flushing;
    if (this.flushError !== undefined) throw this.flushError;
    if (this.fsync) await blobSyncs(() => this.fh.sync());
  }

  /** Waits for a background flush before the file is closed on failure. */
  async abandon(): Promise<void> {
    await this.flushing;
  }

  private async writeBatch(): Promise<void> {
    if (this.batchBytes === 0) return;
    const pieces = this.batch;
    const total = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    let done = (await this.fh.writev(pieces)).bytesWritten;
    // A short writev (rare: a signal, a full disk) goes on piece by piece from where it stopped.
    if (done < total) {
      let skip = done;
      for (const p of pieces) {
        if (skip >= p.byteLength) {
          skip -= p.byteLength;
          continue;
        }
        let off = skip;
        skip = 0;
        while (off < p.byteLength) off += (await this.fh.write(p, off, p.byteLength - off)).bytesWritten;
      }
      done = total;
    }
    this.sinceFlush += done;
    // Only when a sync slot is free: an early flush never waits, nor makes a final fsync wait long.
    if (this.fsync && this.sinceFlush >= FLUSH_EVERY && !this.flushing && blobSyncs.activeCount === 0) {
      this.sinceFlush = 0;
      this.flushing = blobSyncs(() => this.fh.datasync()).then(
        () => undefined,
        (err: unknown) => void (this.flushError ??= err),
      ).finally(() => {
        this.flushing = undefined;
      });
    }
  }
}

// Writer marks this process has made (one per store root), removed at exit.
const writerMarks = new Set<string>();

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
}

function emptyIndex(): Index {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

function stripRefName(d: Descriptor): Descriptor {
  if (!d.annotations || !(AnnotationRefName in d.annotations)) return d;
  const { [AnnotationRefName]: _drop, ...rest } = d.annotations;
  const out: Descriptor = { ...d, annotations: rest };
  if (Object.keys(rest).length === 0) delete out.annotations;
  return out;
}

/** Opens (creating when absent) the store at `root`: the layout in `<root>/oci`, temp files in `<root>/tmp`. */
export async function openStore(root: string, opts: StoreOptions = {}): Promise<OciLayoutStore> {
  const store = new OciLayoutStore(root, opts);
  await store.init();
  return store;
}

