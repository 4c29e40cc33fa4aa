/** The bench's plain-text report: one row per figure and peer, then the targets. Pure. */
import type { BenchResult, Measurement } from './types.js';

const secs = (v: number | null): string => (v == null ? '-' : v < 10 ? v.toFixed(3) : v.toFixed(1));

/** `1.234 s [1.200-1.300] 35 MiB`, or `error: ...` cut to `width`. */
export function cell(m: Measurement, width = 40): string {
  if (m.error) {
    const e = `error: ${m.error}`;
    return e.length > width ? `${e.slice(0, width - 1)}…` : e;
  }
  if (m.median == null) return '-';
  const range = m.runs.length > 1 ? ` [${secs(m.min)}-${secs(m.max)}]` : '';
  const rss = m.peakRssKiB == null ? '' : ` ${Math.round(m.peakRssKiB / 1024)}M`;
  const mbps = m.mbps == null ? '' : ` ${Math.round(m.mbps)}MB/s`;
  return `${secs(m.median)}s${range}${mbps}${rss}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** The whole report: figures (median [min-max], peak RSS) with ratios, then targets met or not. */
export function formatReport(r: BenchResult): string {
  const rows: string[][] = [['case', 'figure', 'rbuild', 'peer', 'peer figure', 'rbuild/peer']];
  for (const f of r.figures) {
    f.peers.forEach((p, i) => {
      const ratio = f.ratios[p.tool];
      rows.push([i === 0 ? f.case : '', i === 0 ? f.figure : '', i === 0 ? cell(f.rbuild) : '', p.tool, cell(p), ratio == null ? '-' : ratio.toFixed(2)]);
    });
  }
  const trows: string[][] = [['target', 'rbuild / peer', 'per case', 'met']];
  for (const t of r.targets) {
    const per = t.values.map((v) => `${v.case} ${v.value == null ? '-' : v.value.toFixed(2)}`).join(', ');
    trows.push([t.figure, t.target, per, t.met == null ? 'n/a' : t.met ? 'met' : 'NOT MET']);
  }
  const head =
    `rbuild bench ${r.date} on ${r.machine.hostname} (${r.machine.cpus} x ${r.machine.cpuModel}, kernel ${r.machine.kernel}), ` +
    `${r.options.quick ? 'quick, ' : ''}median of ${r.options.runs} after ${r.options.warmup} warm-up, as ${r.options.user}; ` +
    `seconds [min-max], peak RSS in MiB`;
  const problems = r.problems.length ? `\nproblems:\n${r.problems.map((p) => `  ${p}`).join('\n')}\n` : '';
  return `${head}\n\n${table(rows)}\n\n${table(trows)}\n${problems}`;
}
