import { describe, expect, it } from 'vitest';
import { firstErrorLine } from './exec.js';
import { cell, formatReport } from './report.js';
import type { BenchResult, Measurement } from './types.js';

const m = (extra: Partial<Measurement>): Measurement => ({ tool: 't', command: 't', runs: [], median: null, min: null, max: null, peakRssKiB: null, ...extra });

describe('report', () => {
  it('shows median [min-max], throughput and peak RSS, or the error', () => {
    expect(cell(m({ runs: [1, 2, 3], median: 2, min: 1, max: 3, peakRssKiB: 40 * 1024 }))).toBe('2.000s [1.000-3.000] 40M');
    expect(cell(m({ runs: [2], median: 2, min: 2, max: 2, mbps: 71.4 }))).toBe('2.000s 71MB/s');
    expect(cell(m({ error: 'unknown option (exit 1)' }))).toBe('error: unknown option (exit 1)');
    expect(cell(m({ error: 'x'.repeat(100) }), 20)).toHaveLength(20);
  });
  it('prints a row per peer and a line per target', () => {
    const r: BenchResult = {
      schema: 'rbuild-bench/1',
      date: '2026-01-01T00:00:00.000Z',
      machine: { hostname: 'h', kernel: 'k', cpus: 2, cpuModel: 'cpu', memMiB: 1, node: 'v20', tools: {} },
      options: { quick: true, runs: 1, warmup: 0, cases: ['tiny'], user: 'u' },
      figures: [
        {
          case: 'tiny',
          figure: 'push',
          rbuild: m({ tool: 'rbuild', runs: [1], median: 1, min: 1, max: 1 }),
          peers: [m({ tool: 'skopeo', runs: [2], median: 2, min: 2, max: 2 }), m({ tool: 'buildah-push', runs: [4], median: 4, min: 4, max: 4 })],
          ratios: { skopeo: 0.5, 'buildah-push': 0.25 },
        },
      ],
      targets: [{ figure: 'push fresh image', target: '<= 0.6 x skopeo copy', values: [{ case: 'tiny', value: 0.5 }], met: true }],
      problems: [],
      seconds: 1,
    };
    const text = formatReport(r);
    expect(text).toMatch(/tiny\s+push\s+1\.000s\s+skopeo\s+2\.000s\s+0\.50/);
    expect(text).toMatch(/\n\s+buildah-push\s+4\.000s\s+0\.25/);
    expect(text).toMatch(/push fresh image\s+<= 0\.6 x skopeo copy\s+tiny 0\.50\s+met/);
  });
});

describe('firstErrorLine', () => {
  it('picks the error line, drops the tool prefix, says how it ended', () => {
    expect(firstErrorLine('STEP 1/2: FROM x\nError: creating build container: boom\n', 125, null)).toBe('creating build container: boom (exit 125)');
    expect(firstErrorLine('', null, 'SIGKILL')).toBe('killed by SIGKILL');
  });
});
