/**
 * One stream read by two consumers at the pace of the slower (a blob written
 * to the store while it is extracted). An error of the source reaches both
 * branches before either could see a clean end, so a consumer never takes a
 * truncated or unverified stream for a whole one.
 */
import { PassThrough, type Readable } from 'node:stream';

/** Two branches carrying every chunk of `src`; destroy `src` to fail both. */
export function teeStream(src: Readable): [PassThrough, PassThrough] {
  // Object mode: chunks are handed on as they are (no joining copies), as openBlob's own stream does.
  const branch = (): PassThrough => new PassThrough({ objectMode: true, highWaterMark: 16 });
  const out: [PassThrough, PassThrough] = [branch(), branch()];
  // pipe() to several destinations pauses the source while any of them is full.
  for (const b of out) {
    src.pipe(b);
    // A branch its consumer left unread still gets the failure; unheard, it must not crash the process.
    b.on('error', () => {});
  }
  src.on('error', (err) => {
    for (const b of out) b.destroy(err);
  });
  // A source destroyed without an error (aborted by its owner) must not look like an end either.
  src.on('close', () => {
    if (src.readableEnded) return;
    for (const b of out) if (!b.destroyed) b.destroy(new Error('stream closed before its end'));
  });
  return out;
}
