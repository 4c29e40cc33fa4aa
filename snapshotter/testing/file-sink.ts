/** Test helper: a BlobSink writing blobs as files named by digest in a directory. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobSink } from '../snapshotter.js';

/** A BlobSink over `dir` (blobs at `<dir>/<hex>`). */
export function fileSink(dir: string): BlobSink & { path(digest: string): string } {
  fs.mkdirSync(dir, { recursive: true });
  return {
    path: (digest: string) => join(dir, digest.replace(/^sha256:/, '')),
    async write(data: Readable | AsyncIterable<Uint8Array>) {
      const tmp = join(dir, `.tmp-${process.pid}-${Math.random()}`);
      const fd = fs.openSync(tmp, 'w');
      const h = createHash('sha256');
      let size = 0;
      try {
        for await (const c of data as AsyncIterable<Uint8Array>) {
          h.update(c);
          size += c.length;
          fs.writeSync(fd, c);
        }
      } finally {
        fs.closeSync(fd);
      }
      const digest = `sha256:${h.digest('hex')}`;
      fs.renameSync(tmp, join(dir, digest.slice(7)));
      return { digest, size };
    },
  };
}
