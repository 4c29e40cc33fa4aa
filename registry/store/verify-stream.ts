/** A pass-through stream that fails at the end when the bytes do not hash to a digest. */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { Digest } from '../oci/types.js';
import { StoreError } from './store-error.js';

/** Passes bytes through, hashing them; errors with `DIGEST_MISMATCH`/`SIZE_MISMATCH` at the end. */
export function verifyingStream(digest: Digest, expectedSize?: number, label: string = digest): Transform {
  const alg = digest.slice(0, digest.indexOf(':'));
  const hash = createHash(alg);
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (expectedSize !== undefined && size > expectedSize) {
        cb(new StoreError('SIZE_MISMATCH', `${label}: more than the expected ${expectedSize} bytes`));
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const got = `${alg}:${hash.digest('hex')}`;
      if (expectedSize !== undefined && size !== expectedSize) {
        cb(new StoreError('SIZE_MISMATCH', `${label}: expected ${expectedSize} bytes, got ${size}`));
      } else if (got !== digest) {
        cb(new StoreError('DIGEST_MISMATCH', `${label}: content hashes to ${got}`));
      } else cb();
    },
  });
}
