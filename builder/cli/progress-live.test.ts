import { describe, expect, it } from 'vitest';
import type { BlobEvent, BuildEvent } from '../build/events.js';
import { LiveView } from './progress-live.js';

const D1 = `sha256:${'a1'.repeat(32)}`;
const D2 = `sha256:${'b2'.repeat(32)}`;
const MiB = 1024 * 1024;
// Colours out, so the expectations read as the screen does.
const bare = (lines: string[]): string[] => lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').replace(/\n$/, ''));
const blob = (status: BlobEvent['status'], current: number, total: number, digest = D1, action: 'pull' | 'push' = 'pull'): BlobEvent => ({
  type: 'blob', action, ref: 'busybox', digest, status, current, total,
});

describe('LiveView', () => {
  it('shows a pull under its heading, bars redrawn, then collapsed to one line per blob', () => {
    const v = new LiveView();
    expect(v.event({ type: 'pull', ref: 'busybox', phase: 'start' }, 0)).toBe(true);
    expect(v.busy).toBe(true);
    // Blob bytes wait for the next redraw.
    expect(v.event(blob('start', 0, 4 * MiB), 100)).toBe(false);
    expect(v.event(blob('exists', 0, 300, D2), 100)).toBe(false);
    v.event(blob('progress', MiB, 4 * MiB), 600);
    expect(bare(v.live(600, 70))).toEqual([
      '=> pulling busybox 0.6s',
      '  a1a1a1a1a1a1 [======>                 ] 1.0 MiB / 4.0 MiB  2.0 MiB/s',
      '  b2b2b2b2b2b2 exists',
    ]);
    expect(v.take()).toEqual([]);
    v.event(blob('done', 4 * MiB, 4 * MiB), 1100);
    expect(v.event({ type: 'pull', ref: 'busybox', phase: 'done', layers: 1, bytes: 4 * MiB }, 1200)).toBe(true);
    expect(bare(v.take())).toEqual(['pulled busybox (1 layers, 4.0 MiB) 1.2s', '  a1a1a1a1a1a1 done 4.0 MiB 1.0s', '  b2b2b2b2b2b2 exists']);
    expect(v.live(1200, 70)).toEqual([]);
    expect(v.busy).toBe(false);
  });

  it('lists running steps with their last output lines, then the push with its blobs', () => {
    const v = new LiveView();
    const events: BuildEvent[] = [
      { type: 'step-cached', step: 'b/1', stage: 'b', index: 1, total: 2, text: 'COPY . /' },
      { type: 'step-start', step: 'b/2', stage: 'b', index: 2, total: 2, text: 'RUN make' },
      { type: 'step-log', step: 'b/2', stream: 'stdout', data: 'one\ntwo\nthree\nfour\n' },
    ];
    for (const e of events) v.event(e, 0);
    expect(bare(v.take())).toEqual(['#1 [b 1/2] COPY . / CACHED']);
    expect(bare(v.live(2500, 40))).toEqual(['=> [b 2/2] RUN make 2.5s', '   two', '   three', '   four']);
    v.event({ type: 'step-done', step: 'b/2', ms: 2500 }, 2500);
    expect(bare(v.take())).toEqual(['[b 2/2] RUN make', '  DONE 2.5s']);
    v.event({ type: 'push', ref: 'busybox', phase: 'start' }, 3000);
    v.event(blob('start', 0, 2 * MiB, D1, 'push'), 3000);
    v.event({ ...blob('mounted', 0, 10, D2, 'push'), from: 'lib/x' }, 3000);
    expect(bare(v.live(3000, 80))).toEqual(['=> pushing busybox 0.0s', '  a1a1a1a1a1a1 [>                             ] 0 B / 2.0 MiB', '  b2b2b2b2b2b2 mounted from lib/x']);
    v.event(blob('done', 2 * MiB, 2 * MiB, D1, 'push'), 3500);
    v.event({ type: 'push', ref: 'busybox', phase: 'done', digest: 'sha256:ff' }, 3600);
    v.finish({ digest: 'sha256:ff', tags: ['busybox'] });
    expect(bare(v.take())).toEqual([
      'pushed busybox@sha256:ff 0.6s',
      '  a1a1a1a1a1a1 done 2.0 MiB 0.5s',
      '  b2b2b2b2b2b2 mounted from lib/x',
      'steps:',
      '  #1 CACHED  [b 1/2] COPY . /',
      '  #2   2.5s  [b 2/2] RUN make',
      'image sha256:ff',
    ]);
  });

  it('gives blobs of an unannounced transfer a heading', () => {
    const v = new LiveView();
    expect(v.event(blob('start', 0, 10), 0)).toBe(true);
    expect(bare(v.live(0, 60))[0]).toBe('=> pulling busybox 0.0s');
  });

  it('keeps every line within the width and the area within maxLines', () => {
    const v = new LiveView();
    v.event({ type: 'step-start', step: 's/1', stage: 's', index: 1, total: 1, text: `RUN ${'x'.repeat(200)}` }, 0);
    v.event({ type: 'step-log', step: 's/1', stream: 'stdout', data: `${'y'.repeat(300)}\n` }, 0);
    v.event({ type: 'pull', ref: 'busybox', phase: 'start' }, 0);
    for (let i = 0; i < 10; i++) v.event(blob('start', 0, 10, `sha256:${String(i).repeat(64)}`), 0);
    const all = bare(v.live(1000, 50));
    expect(all).toHaveLength(13);
    for (const l of all) expect(l.length).toBeLessThanOrEqual(50);
    expect(all[0]).toMatch(/^=> \[s 1\/1\] RUN x+ 1\.0s$/);
    const cut = bare(v.live(1000, 50, 5));
    expect(cut).toHaveLength(5);
    expect(cut[4]).toBe('   ... 9 more lines');
  });
});
