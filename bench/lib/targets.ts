/** The targets table of the benchmark issue, judged against a run's figures. */
import type { Figure, FigureName, TargetLine } from './types.js';

/** One target: rbuild's median over the peer's, compared with a limit. */
export interface Target {
  figure: FigureName | 'rss';
  label: string;
  target: string;
  peer: string;
  limit: number;
  /** Throughput targets: the value is the peer's median over rbuild's, and must be at least the limit. */
  throughput?: boolean;
  /** Only these cases count (the 512 MiB layer for commit), all when absent. */
  cases?: string[];
}

/** The table. */
export const TARGETS: Target[] = [
  { figure: 'cold', label: 'cold build', target: '<= 0.7 x buildah', peer: 'buildah', limit: 0.7 },
  { figure: 'noop', label: 'no-op rebuild', target: '<= 0.25 x buildah', peer: 'buildah', limit: 0.25 },
  { figure: 'change', label: 'one-file-change rebuild', target: '<= 0.5 x buildah', peer: 'buildah', limit: 0.5 },
  { figure: 'push', label: 'push fresh image', target: '<= 0.6 x skopeo copy', peer: 'skopeo', limit: 0.6 },
  { figure: 'pull', label: 'pull into empty store', target: '<= 0.6 x skopeo copy', peer: 'skopeo', limit: 0.6 },
  { figure: 'commit', label: 'commit of 512 MiB layer', target: '>= 0.8 x pigz throughput', peer: 'pigz', limit: 0.8, throughput: true, cases: ['bigfile'] },
  { figure: 'extract', label: 'extraction', target: '<= 1.0 x tar -xzf', peer: 'tar', limit: 1.0 },
  { figure: 'rss', label: 'peak RSS, any case', target: '<= 300 MiB', peer: '', limit: 300 },
];

/** Judges every target line; pure. */
export function judgeTargets(figures: Figure[], targets: Target[] = TARGETS): TargetLine[] {
  return targets.map((t) => {
    let values: { case: string; value: number | null }[];
    if (t.figure === 'rss') {
      const byCase = new Map<string, number | null>();
      for (const f of figures) {
        const kib = f.rbuild.error ? null : f.rbuild.peakRssKiB;
        const prev = byCase.get(f.case) ?? null;
        byCase.set(f.case, kib == null ? prev : Math.max(prev ?? 0, kib / 1024));
      }
      values = [...byCase].map(([c, v]) => ({ case: c, value: v }));
    } else {
      values = figures
        .filter((f) => f.figure === t.figure && (!t.cases || t.cases.includes(f.case)))
        .map((f) => {
          const r = f.ratios[t.peer] ?? null;
          return { case: f.case, value: r == null || !t.throughput ? r : 1 / r };
        });
    }
    const known = values.filter((v) => v.value != null);
    const met = known.length === 0 ? null : known.every((v) => (t.throughput ? v.value! >= t.limit : v.value! <= t.limit));
    return { figure: t.label, target: t.target, values, met };
  });
}
