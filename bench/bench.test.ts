/**
 * Smoke test of the harness itself: a quick run of the tiny case produces the
 * JSON, with buildah's and skopeo's figures and, for rbuild, a number or an
 * error. It checks the shape only: tests never time things.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { BenchResult, Measurement } from './lib/types.js';
import { formatReport } from './lib/report.js';
import { runBench } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const numberOrError = (m: Measurement): void => {
  if (m.error) expect(typeof m.error).toBe('string');
  else expect(typeof m.median).toBe('number');
};

describe('bench harness', () => {
  it('runs the tiny case quickly and writes the JSON', async () => {
    const out = join(dir, 'result.json');
    const { result } = await runBench(
      { quick: true, cases: ['tiny'], runs: 1, warmup: 0, out, app: inject('appDir'), install: false, layers: false },
      () => {},
    );
    expect(existsSync(out)).toBe(true);
    const json = JSON.parse(readFileSync(out, 'utf8')) as BenchResult;
    expect(json.schema).toBe('rbuild-bench/1');
    expect(json.options.user).toBe('rbuild-test');
    expect(json.figures.map((f) => f.figure)).toEqual(['cold', 'noop', 'change', 'push', 'pull']);
    for (const f of json.figures) {
      expect(f.case).toBe('tiny');
      numberOrError(f.rbuild);
      for (const p of f.peers) {
        expect(p.error, `${f.figure} ${p.tool}: ${p.error}`).toBeUndefined();
        expect(p.median).toBeGreaterThan(0);
        expect(p.runs).toHaveLength(1);
      }
      const peerTools = f.peers.map((p) => p.tool);
      expect(peerTools).toContain(['cold', 'noop', 'change'].includes(f.figure) ? 'buildah' : 'skopeo');
    }
    expect(json.targets.map((t) => t.figure)).toContain('cold build');
    expect(json.problems).toEqual([]);
    expect(formatReport(result)).toMatch(/tiny\s+cold/);
  });
});
