/**
 * SARIF 2.1.0 output, so code scanning (GitHub, GitLab) shows findings on
 * the Dockerfile's lines. Findings with no Dockerfile line point at line 1 of
 * the Dockerfile (or `Dockerfile` when none is known): viewers need a location.
 */
import { allRules } from './rules.js';
import { formatWhere, sortFindings } from './format.js';
import type { CheckReport, Severity } from './types.js';

const level: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warn: 'warning', info: 'note' };

/** The SARIF log object for a report. */
export function toSarif(report: CheckReport, opts: { version?: string } = {}): Record<string, unknown> {
  const rules = allRules.map((r) => ({
    id: r.id,
    name: r.name,
    shortDescription: { text: r.description },
    fullDescription: { text: r.description },
    help: { text: r.fix },
    defaultConfiguration: { level: level[r.severity] },
  }));
  const index = new Map(allRules.map((r, i) => [r.id, i]));
  const results = sortFindings(report.findings).map((f) => {
    const uri = f.location.file ?? report.dockerfile ?? 'Dockerfile';
    const where = formatWhere(f);
    const props: Record<string, unknown> = {};
    if (f.location.layer !== undefined) props.layer = f.location.layer;
    if (f.location.layerDigest) props.layerDigest = f.location.layerDigest;
    if (f.location.path) props.path = f.location.path;
    if (f.bytes !== undefined) props.bytes = f.bytes;
    if (f.fromBase) props.fromBase = true;
    return {
      ruleId: f.ruleId,
      ruleIndex: index.get(f.ruleId),
      level: level[f.severity],
      message: { text: `${f.message} (${where}). Fix: ${f.fix}` },
      locations: [{ physicalLocation: { artifactLocation: { uri: toUri(uri) }, region: { startLine: f.location.line ?? 1 } } }],
      ...(Object.keys(props).length > 0 ? { properties: props } : {}),
    };
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'rbuild check', version: opts.version ?? '0.1.0', rules } }, results }],
  };
}

/** A relative file path as a URI reference (segments percent-encoded, separators kept). */
function toUri(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The SARIF log as text. */
export function formatSarif(report: CheckReport): string {
  return JSON.stringify(toSarif(report), null, 2) + '\n';
}
