/** The readable forms of a report: a table for terminals, JSON for scripts, and the `--fail-on` decision. */
import { formatBytes } from './image-rules.js';
import type { CheckReport, Finding, Severity } from './types.js';

/** `--fail-on` values. */
export type FailOn = 'error' | 'warn' | 'never';

const rank: Record<Severity, number> = { error: 3, warn: 2, info: 1 };

/** Whether a report fails under a `--fail-on` threshold. */
export function reportFails(report: Pick<CheckReport, 'findings'>, failOn: FailOn): boolean {
  if (failOn === 'never') return false;
  return report.findings.some((f) => rank[f.severity] >= rank[failOn]);
}

/** Count of findings per severity. */
export function summarize(findings: readonly Finding[]): Record<Severity, number> {
  const s: Record<Severity, number> = { error: 0, warn: 0, info: 0 };
  for (const f of findings) s[f.severity]++;
  return s;
}

/**
 * Where a finding is, in one short string: `Dockerfile:5 layer 3 (ab12cd34ef56) /etc/x`.
 * With `brief`, the layer and path are left out when the message already names them.
 */
export function formatWhere(f: Finding, brief = false): string {
  const l = f.location;
  const parts: string[] = [];
  if (l.file !== undefined) parts.push(l.line !== undefined ? `${l.file}:${l.line}` : l.file);
  if (l.layer !== undefined && !(brief && f.message.includes(`layer ${l.layer + 1}/`))) parts.push(`layer ${l.layer + 1}${l.layerDigest ? ` (${l.layerDigest.slice(7, 19)})` : ''}`);
  if (l.path !== undefined && !(brief && f.message.includes(l.path))) parts.push(l.path);
  return parts.join(' ') || 'image config';
}

/** Findings sorted worst first, then by place. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => rank[b.severity] - rank[a.severity] || a.ruleId.localeCompare(b.ruleId) || (a.location.line ?? 0) - (b.location.line ?? 0));
}

/** The report as an aligned table with a fix line under each finding and a summary line. */
export function formatTable(report: CheckReport): string {
  const rows = sortFindings(report.findings);
  const lines: string[] = [`rbuild check ${report.target}`];
  if (rows.length === 0) lines.push('no findings');
  else {
    const w0 = Math.max(8, ...rows.map((r) => r.severity.length));
    const w1 = 5;
    lines.push(`${'SEVERITY'.padEnd(w0)}  ${'RULE'.padEnd(w1)}  FINDING`);
    for (const r of rows) {
      lines.push(`${r.severity.padEnd(w0)}  ${r.ruleId.padEnd(w1)}  ${formatWhere(r, true)}: ${r.message}`);
      lines.push(`${''.padEnd(w0 + w1 + 4)}fix: ${r.fix}`);
    }
  }
  const s = summarize(rows);
  const bytes = report.layers.reduce((n, l) => n + l.bytes, 0);
  const entries = report.layers.reduce((n, l) => n + l.entries, 0);
  const read = report.layers.length > 0 ? ` (${report.layers.length} layers, ${entries} entries, ${formatBytes(bytes)} read)` : '';
  lines.push(`${s.error} error(s), ${s.warn} warning(s), ${s.info} info${read}`);
  return lines.join('\n') + '\n';
}

/** The report as JSON (stable field names for scripts). */
export function formatJson(report: CheckReport): string {
  return JSON.stringify({ target: report.target, ...(report.dockerfile ? { dockerfile: report.dockerfile } : {}), summary: summarize(report.findings), findings: sortFindings(report.findings), layers: report.layers }, null, 2) + '\n';
}
