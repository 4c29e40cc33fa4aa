import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { teeStream } from './tee-stream.js';

async function collect(r: AsyncIterable<Buffer>, delayMs = 0): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) {
    out.push(c);
    if (delayMs) await sleep(delayMs);
  }
  return Buffer.concat(out);
}

describe('teeStream', () => {
  it('gives both branches every chunk, at the pace of the slower', async () => {
    const chunks = Array.from({ length: 100 }, (_, i) => Buffer.alloc(1000, i));
    let pulled = 0;
    const src = Readable.from((function* () {
      for (const c of chunks) {
        pulled++;
        yield c;
      }
    })(), { objectMode: true, highWaterMark: 1 });
    const [a, b] = teeStream(src);
    const fast = collect(a);
    // Backpressure: while the slow branch has read nothing, the source is not drained ahead of it.
    await sleep(20);
    expect(pulled).toBeLessThan(40);
    const [x, y] = await Promise.all([fast, collect(b, 1)]);
    expect(x.equals(Buffer.concat(chunks))).toBe(true);
    expect(y.equals(x)).toBe(true);
  });

  it('fails both branches when the source fails, never ending either cleanly', async () => {
    const src = Readable.from((async function* () {
      yield Buffer.from('part');
      throw Object.assign(new Error('digest mismatch'), { code: 'DIGEST_MISMATCH' });
    })(), { objectMode: true });
    const [a, b] = teeStream(src);
    await expect(collect(a)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await expect(collect(b)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('fails both branches when the source is destroyed without an error', async () => {
    const src = new Readable({ read() {} });
    const [a, b] = teeStream(src);
    src.push(Buffer.from('x'));
    setTimeout(() => src.destroy(), 5);
    await expect(collect(a)).rejects.toThrow(/closed before its end/);
    await expect(collect(b)).rejects.toThrow(/closed before its end/);
  });
});
