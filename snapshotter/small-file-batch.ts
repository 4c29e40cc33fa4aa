/**
 * The extractor's small files, gathered into batches that the native file
 * queue (native-fs.ts, FileQueue) creates on worker threads while the JS
 * thread parses the next entries: file creation, not parsing, is the floor of
 * a layer of small files, and one thread creating them leaves the other core
 * idle. This module keeps the order promises the queue needs from its caller:
 * it knows which paths are pending (queued, not yet reported done), so the
 * extractor can settle() before it touches one, and it hands failed records
 * back in the extractor's terms (the entry) to be redone or refused.
 */
import type { TarEntryHeader } from './tar-header.js';
import { FILE_QUEUE_META, type FileQueue, type FileQueueFailure, type NativeFs } from './native-fs.js';

/** A small file for the queue: its entry, where it goes and what it asks for. */
export interface QueuedFile {
  h: TarEntryHeader;
  /** Path relative to the root, every parent a real directory (no symlinks). */
  rel: string;
  body: Buffer;
  /** Whether to fchown to h.uid:h.gid. */
  chowned: boolean;
  /** Mode to fchmod to, or -1 when open() gives the right one. */
  chmodTo: number;
}

/** Called with each record the queue could not create (the rest of its batch was). */
export type FailureHandler = (f: QueuedFile, failure: FileQueueFailure) => void;

/** A batch is submitted at this many records or bytes, whichever comes first. */
const BATCH_RECORDS = 256;
const BATCH_BYTES = 1 << 20;

/** Batches of small files for the native queue, with the set of paths still pending. */
export class SmallFileBatch {
  private q: FileQueue | undefined;
  private rels: string[] = [];
  private bodies: Buffer[] = [];
  private files: QueuedFile[] = [];
  private meta: number[] = [];
  private bytes = 0;
  /** Submitted batches not yet reported done, by id. */
  private readonly inflight = new Map<number, QueuedFile[]>();
  /** Paths of the records gathered or in flight (at most one record per path). */
  private readonly pendingRels = new Set<string>();

  constructor(
    private readonly nfs: NativeFs,
    private readonly root: string,
    private readonly threads: number,
    private readonly onFailure: FailureHandler,
  ) {}

  /** Whether a record for rel is queued and not yet reported done: touch rel only after settle(). */
  pending(rel: string): boolean {
    return this.pendingRels.has(rel);
  }

  /** Whether nothing is queued or in flight. */
  get idle(): boolean {
    return this.pendingRels.size === 0;
  }

  /** Queues a file whose path is not pending (the caller checks); submits the batch when it is full. */
  add(f: QueuedFile): void {
    this.rels.push(f.rel);
    this.bodies.push(f.body);
    this.files.push(f);
    this.meta.push(f.h.mode & 0o777, f.h.uid, f.h.gid, f.h.mtime, f.chowned ? 1 : 0, f.chmodTo);
    this.bytes += f.body.length + f.rel.length;
    this.pendingRels.add(f.rel);
    if (this.rels.length >= BATCH_RECORDS || this.bytes >= BATCH_BYTES) this.submit();
  }

  /** Hands the current batch to the worker threads (blocks while the queue is full). */
  submit(): void {
    if (this.rels.length === 0) return;
    this.q ??= this.nfs.createFileQueue(this.root, this.threads);
    const meta = new Float64Array(this.meta);
    if (meta.length !== this.files.length * FILE_QUEUE_META) throw new Error('file queue record layout mismatch');
    const id = this.q.submit(this.rels, this.bodies, meta);
    this.inflight.set(id, this.files);
    this.rels = [];
    this.bodies = [];
    this.files = [];
    this.meta = [];
    this.bytes = 0;
  }

  /** Takes the reports of the batches done so far, without waiting; failures go to the handler. */
  poll(): void {
    if (this.q === undefined || this.inflight.size === 0) return;
    this.take(this.q.poll());
  }

  /** Submits what is gathered and waits until every pending file exists (or has been handled as a failure). */
  settle(): void {
    this.submit();
    if (this.q === undefined || this.inflight.size === 0) return;
    this.take(this.q.drain());
  }

  /** Stops the threads; batches not started are dropped (after an error, the tree is thrown away). */
  close(): void {
    this.q?.close();
    this.q = undefined;
    this.inflight.clear();
    this.pendingRels.clear();
  }

  private take(report: { done: number[]; failures: FileQueueFailure[] }): void {
    // Pending paths are forgotten before any handler runs: a handler may touch them.
    const failed: Array<[QueuedFile, FileQueueFailure]> = [];
    const byBatch = new Map<number, QueuedFile[]>();
    for (const id of report.done) {
      const files = this.inflight.get(id);
      if (files === undefined) continue;
      this.inflight.delete(id);
      byBatch.set(id, files);
      for (const f of files) this.pendingRels.delete(f.rel);
    }
    for (const fail of report.failures) {
      const f = byBatch.get(fail.batch)?.[fail.index];
      if (f !== undefined) failed.push([f, fail]);
    }
    // A handler may settle() again (re-entrantly): it then takes the other batches' reports itself.
    for (const [f, fail] of failed) this.onFailure(f, fail);
  }
}
