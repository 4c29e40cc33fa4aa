import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import AjvModule from 'ajv-draft-04';
import formatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { formatJson, formatTable, reportFails } from './format.js';
import { allRules } from './rules.js';
import { toSarif } from './sarif.js';
import type { CheckReport } from './types.js';

// The SARIF 2.1.0 schema (the OASIS rtm.5 JSON schema) as shipped by @microsoft/jest-sarif.
const require = createRequire(import.meta.url);
const schemaPath = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');

// Both are CommonJS with a `default` export: take it whichever way the loader hands it over.
const Ajv = ((AjvModule as unknown as { default?: typeof AjvModule }).default ?? AjvModule) as unknown as new (o: object) => import('ajv').default;
const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (ajv: import('ajv').default) => void;

let compiled: ReturnType<import('ajv').default['compile']> | undefined;

function validator() {
  if (compiled) return compiled;
  // The schema's patterns are not all valid under the `u` flag (a lone `]`), as written by OASIS.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  compiled = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
  return compiled;
}

const report: CheckReport = {
  target: 'app:1',
  dockerfile: 'sub dir/Dockerfile',
  layers: [{ index: 0, digest: 'sha256:' + 'a'.repeat(64), base: false, entries: 3, bytes: 1234 }],
  findings: [
    { ruleId: 'RB001', severity: 'error', message: 'the image runs as root: USER is root', fix: 'x', location: { file: 'sub dir/Dockerfile', line: 7 } },
    { ruleId: 'RB009', severity: 'error', message: '/id_rsa: private key', fix: 'y', location: { layer: 0, layerDigest: 'sha256:' + 'a'.repeat(64), path: '/id_rsa' } },
    { ruleId: 'RB015', severity: 'warn', message: 'apt cache', fix: 'z', location: { layer: 0, path: '/var/lib/apt/lists' }, bytes: 10, fromBase: true },
    { ruleId: 'RB014', severity: 'info', message: 'no HEALTHCHECK', fix: 'w', location: {} },
  ],
};

describe('SARIF output', () => {
  it('validates against the SARIF 2.1.0 schema', () => {
    const validate = validator();
    const log = toSarif(report);
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(toSarif({ ...report, findings: [] }))).toBe(true);
  });

  it('the schema rejects a broken log (the validator is really checking)', () => {
    const validate = validator();
    const log = structuredClone(toSarif(report)) as { runs: Array<{ results: Array<Record<string, unknown>> }> };
    log.runs[0]!.results[0]!.level = 'fatal';
    expect(validate(log)).toBe(false);
  });

  it('carries rules, levels and Dockerfile lines', () => {
    const log = toSarif(report) as any;
    const run = log.runs[0];
    expect(run.tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(allRules.map((r) => r.id));
    expect(run.results.map((r: any) => [r.ruleId, r.level, r.locations[0].physicalLocation.artifactLocation.uri, r.locations[0].physicalLocation.region.startLine])).toEqual([
      ['RB001', 'error', 'sub%20dir/Dockerfile', 7],
      ['RB009', 'error', 'sub%20dir/Dockerfile', 1],
      ['RB015', 'warning', 'sub%20dir/Dockerfile', 1],
      ['RB014', 'note', 'sub%20dir/Dockerfile', 1],
    ]);
    expect(run.results[1].properties).toEqual({ layer: 0, layerDigest: 'sha256:' + 'a'.repeat(64), path: '/id_rsa' });
    expect(run.tool.driver.rules[run.results[1].ruleIndex].id).toBe('RB009');
  });
});

describe('table, json, fail-on', () => {
  it('table lists worst first with where, what and fix, then a summary', () => {
    const t = formatTable(report).split('\n');
    expect(t[2]).toBe('error     RB001  sub dir/Dockerfile:7: the image runs as root: USER is root');
    expect(t[3]!.trim()).toBe('fix: x');
    expect(t[4]).toContain('RB009  layer 1 (aaaaaaaaaaaa): /id_rsa: private key');
    expect(t.at(-2)).toBe('2 error(s), 1 warning(s), 1 info (1 layers, 3 entries, 1.2 kB read)');
  });
  it('json has a summary', () => {
    expect(JSON.parse(formatJson(report)).summary).toEqual({ error: 2, warn: 1, info: 1 });
  });
  it('fail-on thresholds', () => {
    const warnOnly = { findings: report.findings.filter((f) => f.severity !== 'error') };
    expect(reportFails(report, 'error')).toBe(true);
    expect(reportFails(warnOnly, 'error')).toBe(false);
    expect(reportFails(warnOnly, 'warn')).toBe(true);
    expect(reportFails(report, 'never')).toBe(false);
  });
});
