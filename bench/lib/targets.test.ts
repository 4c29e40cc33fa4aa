import { describe, expect, it } from 'vitest';
import { judgeTargets, TARGETS } from './targets.js';
import type { Figure, FigureName, Measurement } from './types.js';

const m = (tool: string, median: number | null, extra: Partial<Measurement> = {}): Measurement => ({
  tool,
  command: tool,
  runs: median == null ? [] : [median],
  median,
  min: median,
  max: median,
  peakRssKiB: null,
  ...extra,
});
const fig = (c: string, figure: FigureName, rbuild: Measurement, peer: Measurement): Figure => ({
  case: c,
  figure,
  rbuild,
  peers: [peer],
  ratios: { [peer.tool]: rbuild.median == null || rbuild.error ? null : rbuild.median / peer.median! },
});
const line = (figs: Figure[], label: string) => judgeTargets(figs).find((t) => t.figure === label)!;

describe('judgeTargets', () => {
  it('has one line per target of the issue', () => {
    expect(judgeTargets([]).map((t) => t.figure)).toEqual(TARGETS.map((t) => t.label));
    expect(judgeTargets([]).every((t) => t.met === null)).toBe(true);
  });
  it('meets a time target only when every case does', () => {
    const ok = fig('tiny', 'cold', m('rbuild', 0.5), m('buildah', 1));
    const bad = fig('apt', 'cold', m('rbuild', 0.9), m('buildah', 1));
    expect(line([ok], 'cold build').met).toBe(true);
    expect(line([ok, bad], 'cold build')).toMatchObject({ met: false, values: [{ case: 'tiny', value: 0.5 }, { case: 'apt', value: 0.9 }] });
  });
  it('ignores cases where rbuild has no number, and says n/a when none has', () => {
    const err = fig('tiny', 'noop', m('rbuild', null, { error: 'unknown option' }), m('buildah', 1));
    expect(line([err], 'no-op rebuild')).toMatchObject({ met: null, values: [{ case: 'tiny', value: null }] });
  });
  it('judges the commit target as throughput, on the big layer only', () => {
    const big = fig('bigfile', 'commit', m('rbuild', 2), m('pigz', 1.8)); // 0.9 x pigz throughput
    const many = fig('manyfiles', 'commit', m('rbuild', 10), m('pigz', 1));
    const l = line([big, many], 'commit of 512 MiB layer');
    expect(l.values.map((v) => v.case)).toEqual(['bigfile']);
    expect(l.values[0]!.value).toBeCloseTo(0.9);
    expect(l.met).toBe(true);
  });
  it('takes the highest peak RSS per case, in MiB', () => {
    const a = fig('tiny', 'cold', m('rbuild', 1, { peakRssKiB: 100 * 1024 }), m('buildah', 1));
    const b = fig('tiny', 'push', m('rbuild', 1, { peakRssKiB: 400 * 1024 }), m('skopeo', 1));
    expect(line([a, b], 'peak RSS, any case')).toMatchObject({ met: false, values: [{ case: 'tiny', value: 400 }] });
  });
});
