/** Chain IDs of a layer stack (image-spec config.md): chain(n) = sha256(chain(n-1) + " " + diffID(n)). */
import { createHash } from 'node:crypto';

/** The chain ID of each prefix of the diff IDs. */
export function chainIds(diffIds: Array<`sha256:${string}`>): Array<`sha256:${string}`> {
  const out: Array<`sha256:${string}`> = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev ? `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}` : d);
  }
  return out;
}
