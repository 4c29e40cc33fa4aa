import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BlobEvent } from '../build/events.js';
import type { Descriptor } from '../../registry/oci/types.js';
import { reportCompression } from './progress-compress.js';

const tar = (n: string): Descriptor => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${n.repeat(64)}`, size: 1000 });
const gz: Descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'f'.repeat(64)}`, size: 300 };

afterEach(() => {
  vi.useRealTimers();
});

describe('reportCompression', () => {
  it('announces a compression still running after the delay, and its result; a quick one says nothing', async () => {
    vi.useFakeTimers();
    const events: BlobEvent[] = [];
    let finish: (d: Descriptor) => void = () => undefined;
    const layer = (l: Descriptor, _choice: unknown): Promise<Descriptor> => (l.digest === tar('a').digest ? new Promise((r) => (finish = r)) : Promise.resolve(gz));
    const opts = reportCompression({ compress: { choice: { format: 'gzip' as const }, layer }, jobs: 2 }, 'r/app:1', (e) => events.push(e), 300, () => Date.now());
    expect(opts.jobs).toBe(2);
    // Remembered: back at once, no events.
    await expect(opts.compress.layer(tar('b'), { format: 'gzip' })).resolves.toBe(gz);
    await vi.advanceTimersByTimeAsync(1000);
    expect(events).toEqual([]);
    // Slow: compressing after 300 ms, compressed when done.
    const slow = opts.compress.layer(tar('a'), { format: 'gzip' });
    await vi.advanceTimersByTimeAsync(299);
    expect(events).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(events).toEqual([{ type: 'blob', action: 'push', ref: 'r/app:1', digest: tar('a').digest, status: 'compressing', current: 0, total: 1000 }]);
    finish(gz);
    await expect(slow).resolves.toBe(gz);
    expect(events[1]).toEqual({ type: 'blob', action: 'push', ref: 'r/app:1', digest: tar('a').digest, status: 'compressed', current: 1000, total: 1000, to: { digest: gz.digest, size: 300 }, ms: 300 });
  });
});
