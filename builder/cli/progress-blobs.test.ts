import { describe, expect, it } from 'vitest';
import type { BlobEvent } from '../build/events.js';
import { bar, BlobBoard, blobEvents, JsonBlobThrottle, PlainBlobLog, transferKey } from './progress-blobs.js';

const D1 = `sha256:${'a1'.repeat(32)}`;
const D2 = `sha256:${'b2'.repeat(32)}`;
const D3 = `sha256:${'c3'.repeat(32)}`;
const MiB = 1024 * 1024;
const ev = (status: BlobEvent['status'], current: number, total: number, digest = D1, extra: Partial<BlobEvent> = {}): BlobEvent => ({
  type: 'blob', action: 'pull', ref: 'r/app:1', digest, status, current, total, ...extra,
});

describe('blobEvents', () => {
  it('marks the first bytes of a blob as its start and ends each one', () => {
    const out: BlobEvent[] = [];
    const on = blobEvents('push', 'r/app:1', (e) => out.push(e));
    on({ type: 'blob-exists', digest: D2, size: 5 });
    on({ type: 'blob-progress', digest: D1 as `sha256:${string}`, done: 10, total: 30 });
    on({ type: 'blob-progress', digest: D1 as `sha256:${string}`, done: 30, total: 30 });
    on({ type: 'blob-done', digest: D1 as `sha256:${string}`, size: 30 });
    on({ type: 'blob-mounted', digest: D3 as `sha256:${string}`, size: 7, from: 'lib/base' });
    on({ type: 'manifest', digest: D3 as `sha256:${string}`, reference: 'r/app:1' });
    expect(out.map((e) => [e.digest.slice(7, 9), e.status, e.current, e.total, e.from])).toEqual([
      ['b2', 'exists', 0, 5, undefined],
      ['a1', 'start', 10, 30, undefined],
      ['a1', 'progress', 30, 30, undefined],
      ['a1', 'done', 30, 30, undefined],
      ['c3', 'mounted', 0, 7, 'lib/base'],
    ]);
    expect(out.every((e) => e.type === 'blob' && e.action === 'push' && e.ref === 'r/app:1')).toBe(true);
  });

  it('starts a blob whose bytes were never counted before it ends', () => {
    const out: BlobEvent[] = [];
    blobEvents('pull', 'x', (e) => out.push(e))({ type: 'blob-done', digest: D1, size: 0 });
    expect(out.map((e) => e.status)).toEqual(['start', 'done']);
  });
});

describe('bar', () => {
  it('fills in proportion and stays its width', () => {
    expect(bar(0, 10)).toBe('[>       ]');
    expect(bar(0.5, 10)).toBe('[====>   ]');
    expect(bar(1, 10)).toBe('[========]');
    expect(bar(2, 10)).toHaveLength(10);
  });
});

describe('BlobBoard', () => {
  it('draws a bar with bytes and rate per moving blob, one line per finished one', () => {
    const b = new BlobBoard();
    b.update(ev('start', 0, 4 * MiB), 1000);
    b.update(ev('exists', 0, 100, D2), 1000);
    b.update(ev('progress', 2 * MiB, 4 * MiB), 2000);
    b.update(ev('start', 0, 10, D3), 1500);
    b.update(ev('done', 10, 10, D3), 1800);
    const key = transferKey('pull', 'r/app:1');
    expect(b.transfers()).toEqual([key]);
    expect(b.lines(key, 2000, 80)).toEqual([
      '  a1a1a1a1a1a1 [===============>              ] 2.0 MiB / 4.0 MiB  2.0 MiB/s',
      '  b2b2b2b2b2b2 exists',
      '  c3c3c3c3c3c3 done 10 B 0.3s',
    ]);
    for (const l of b.lines(key, 2000, 80)) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('drops the bar, then cuts the line, on narrow terminals', () => {
    const b = new BlobBoard();
    b.update(ev('start', 0, 4 * MiB), 0);
    const key = transferKey('pull', 'r/app:1');
    expect(b.lines(key, 100, 40)).toEqual(['  a1a1a1a1a1a1 [>        ] 0 B / 4.0 MiB']);
    expect(b.lines(key, 100, 30)).toEqual(['  a1a1a1a1a1a1 0 B / 4.0 MiB']);
    expect(b.lines(key, 100, 20)).toEqual(['  a1a1a1a1a1a1 0 B /']);
  });

  it('closes a transfer into its final lines and forgets it', () => {
    const b = new BlobBoard();
    b.update(ev('start', 0, 3 * MiB), 0);
    b.update(ev('done', 3 * MiB, 3 * MiB), 800);
    b.update({ ...ev('mounted', 0, 9, D2), action: 'push', from: 'lib/base' }, 900);
    expect(b.close(transferKey('pull', 'r/app:1'), 1000, Infinity)).toEqual(['  a1a1a1a1a1a1 done 3.0 MiB 0.8s']);
    expect(b.transfers()).toEqual([transferKey('push', 'r/app:1')]);
    expect(b.close(transferKey('push', 'r/app:1'), 1000, Infinity)).toEqual(['  b2b2b2b2b2b2 mounted from lib/base']);
  });
});

describe('PlainBlobLog', () => {
  it('says start and end of a quick blob, nothing between', () => {
    const log = new PlainBlobLog();
    const lines = [
      ...log.lines(ev('start', 1000, 2 * MiB), 0),
      ...[...Array(20).keys()].flatMap((i) => log.lines(ev('progress', (i + 1) * 100_000, 2 * MiB), i * 30)),
      ...log.lines(ev('done', 2 * MiB, 2 * MiB), 700),
      ...log.lines(ev('exists', 0, 5, D2), 700),
      ...log.lines({ ...ev('mounted', 0, 5, D3), action: 'push', from: 'lib/base' }, 700),
    ];
    expect(lines).toEqual([
      'pull a1a1a1a1a1a1: start 2.0 MiB',
      'pull a1a1a1a1a1a1: done 2.0 MiB 0.7s',
      'pull b2b2b2b2b2b2: exists',
      'push c3c3c3c3c3c3: mounted from lib/base',
    ]);
  });

  it('gives a long blob a line per quarter, never two within minGapMs', () => {
    const log = new PlainBlobLog();
    const total = 100 * MiB;
    const lines = log.lines(ev('start', 0, total), 0);
    // 1 MiB per second for 100 s, an event every 100 ms.
    for (let t = 100; t <= 100_000; t += 100) lines.push(...log.lines(ev('progress', Math.round((t / 100_000) * total), total), t));
    lines.push(...log.lines(ev('done', total, total), 100_000));
    expect(lines[0]).toBe('pull a1a1a1a1a1a1: start 100.0 MiB');
    expect(lines.at(-1)).toBe('pull a1a1a1a1a1a1: done 100.0 MiB 100.0s');
    const middle = lines.slice(1, -1);
    // Each quarter, and between quarters every 10 s without one.
    expect(middle[0]).toBe('pull a1a1a1a1a1a1: 10% 10.0 MiB / 100.0 MiB 1.0 MiB/s');
    expect(middle).toContain('pull a1a1a1a1a1a1: 25% 25.0 MiB / 100.0 MiB 1.0 MiB/s');
    expect(middle).toContain('pull a1a1a1a1a1a1: 50% 50.0 MiB / 100.0 MiB 1.0 MiB/s');
    expect(middle.length).toBeGreaterThanOrEqual(9);
    expect(middle.length).toBeLessThanOrEqual(13);
  });

  it('reports a fast blob by quarters no closer than 2 s', () => {
    const log = new PlainBlobLog();
    const total = 40 * MiB;
    const lines = log.lines(ev('start', 0, total), 0);
    // 8 s in all: quarters fall every 2 s.
    for (let t = 50; t < 8000; t += 50) lines.push(...log.lines(ev('progress', Math.round((t / 8000) * total), total), t));
    expect(lines.slice(1).map((l) => l.split(' ')[2])).toEqual(['25%', '50%', '75%']);
  });
});

describe('JsonBlobThrottle', () => {
  it('passes every start and end and a blob\'s progress at most every 250 ms', () => {
    const th = new JsonBlobThrottle();
    const passed: string[] = [];
    const feed = (e: BlobEvent, t: number): void => void (th.pass(e, t) && passed.push(`${e.digest.slice(7, 9)} ${e.status} ${t}`));
    feed(ev('start', 0, 100), 0);
    feed(ev('start', 0, 100, D2), 0);
    for (let t = 50; t <= 1000; t += 50) {
      feed(ev('progress', t / 10, 100), t);
      feed(ev('progress', t / 10, 100, D2), t);
    }
    feed(ev('done', 100, 100), 1000);
    feed(ev('exists', 0, 1, D3), 1000);
    expect(passed.filter((p) => p.startsWith('a1'))).toEqual(['a1 start 0', 'a1 progress 250', 'a1 progress 500', 'a1 progress 750', 'a1 progress 1000', 'a1 done 1000']);
    expect(passed.filter((p) => p.startsWith('b2'))).toHaveLength(5);
    expect(passed).toContain('c3 exists 1000');
  });
});

describe('compression before a push', () => {
  const push = (status: BlobEvent['status'], extra: Partial<BlobEvent> = {}): BlobEvent => ({ ...ev(status, 0, 512 * MiB), action: 'push', ...extra });
  it('is a live line with its elapsed time, then one line naming the compressed blob', () => {
    const b = new BlobBoard();
    b.update(push('compressing'), 0);
    const key = transferKey('push', 'r/app:1');
    expect(b.lines(key, 3200, 80)).toEqual(['  a1a1a1a1a1a1 compressing 512.0 MiB 3.2s']);
    b.update(push('compressed', { current: 512 * MiB, to: { digest: D2, size: 80 * MiB }, ms: 12_300 }), 12_000);
    expect(b.close(key, 12_000, Infinity)).toEqual(['  a1a1a1a1a1a1 compressed 512.0 MiB to b2b2b2b2b2b2 80.0 MiB 12.3s']);
  });

  it('is two lines in the plain log', () => {
    const log = new PlainBlobLog();
    expect([...log.lines(push('compressing'), 0), ...log.lines(push('compressed', { to: { digest: D2, size: 80 * MiB } }), 12_000)]).toEqual([
      'push a1a1a1a1a1a1: compressing 512.0 MiB',
      'push a1a1a1a1a1a1: compressed 512.0 MiB to b2b2b2b2b2b2 80.0 MiB 12.0s',
    ]);
  });
});
