/**
 * What a build tells its caller while it runs. The library never prints;
 * the CLI turns these into tty, plain or JSON progress.
 */

/** One progress event. `step` ids are `stage/index` (e.g. `build/3`). */
export type BuildEvent =
  | { type: 'build-start'; stages: string[]; isolation: string; driver?: string; warnings: string[] }
  | { type: 'step-start'; step: string; stage: string; index: number; total: number; text: string }
  | { type: 'step-cached'; step: string; stage: string; index: number; total: number; text: string }
  | { type: 'step-log'; step: string; stream: 'stdout' | 'stderr'; data: string }
  | { type: 'step-done'; step: string; ms: number; layer?: { digest: string; size: number } }
  | { type: 'step-error'; step: string; message: string }
  | { type: 'pull'; ref: string; phase: 'start' | 'done'; layers?: number; bytes?: number }
  | { type: 'warning'; message: string }
  /** A note for the log that is not a problem (e.g. which CI credentials are used). */
  | { type: 'info'; message: string }
  | { type: 'export'; digest: string; size: number; tags: string[] }
  | { type: 'push'; ref: string; phase: 'start' | 'done'; digest?: string }
  | BlobEvent;

/**
 * A blob moving to or from a registry (a base image pulled, the image pushed), under the
 * `pull`/`push` of `ref`. `status`: `start` (first bytes), `progress`, `done`, or, with no
 * bytes moved, `exists` (already there) or `mounted` (from the repository `from`). A push
 * compressing a stored-uncompressed layer first says `compressing`, then `compressed` (into `to`).
 */
export interface BlobEvent {
  type: 'blob';
  action: 'pull' | 'push';
  ref: string;
  digest: string;
  status: 'start' | 'progress' | 'done' | 'exists' | 'mounted' | 'compressing' | 'compressed';
  /** Bytes moved so far. */
  current: number;
  /** The blob's size. */
  total: number;
  from?: string;
  /** `compressed`: the compressed blob that is pushed instead. */
  to?: { digest: string; size: number };
  /** `compressed`: how long it took (it was announced only after a while). */
  ms?: number;
}

/** Receives build events. */
export type EventSink = (e: BuildEvent) => void;
