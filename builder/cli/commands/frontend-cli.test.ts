import { describe, expect, inject, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findConformanceDir } from '../../dockerfile/conformance-dir.js';
import { runAs, tempDirFor, TEST_USER } from '../../../test/support/unprivileged.js';
import { parseBuildArgs, runPlan } from './plan.js';

const run = promisify(execFile);
const cli = (args: string[]) =>
  run(process.execPath, [join(inject('appDir'), 'dist/builder/cli/main.js'), ...args]).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('rbuild debug ast (the built CLI)', () => {
  it('matches every BuildKit result file', async () => {
    const dir = join(findConformanceDir(), 'buildkit', 'parser-testfiles');
    const cases = readdirSync(dir);
    expect(cases.length).toBeGreaterThan(30);
    for (const c of cases) {
      const r = await cli(['debug', 'ast', '-f', join(dir, c, 'Dockerfile')]);
      expect({ c, code: r.code, out: r.stdout }).toEqual({ c, code: 0, out: readFileSync(join(dir, c, 'result'), 'utf8') });
    }
  });
  it('exits non-zero with a located message', async () => {
    const d = mkdtempSync(join(tmpdir(), 'rbuild-cli-'));
    writeFileSync(join(d, 'Dockerfile'), 'FROM a\nCMD ["a", 1]\n');
    const r = await cli(['debug', 'ast', '-f', join(d, 'Dockerfile')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${join(d, 'Dockerfile')}:2:1: when using JSON array syntax, arrays must be comprised of strings only\n 2 | CMD ["a", 1]\n   | ^\n`);
  });
});

describe('as an unprivileged user', () => {
  it('debug ast and plan work for rbuild-test', async () => {
    const dir = tempDirFor(TEST_USER);
    const main = join(inject('appDir'), 'dist/builder/cli/main.js');
    const df = 'FROM busybox AS a\nRUN echo hi\nFROM a\nCOPY --from=a /bin/sh /sh\n';
    const ast = await runAs(TEST_USER, [process.execPath, main, 'debug', 'ast', '-f', '-'], { cwd: dir, input: df });
    expect(ast).toMatchObject({ code: 0, stdout: '(from "busybox" "AS" "a")\n(run "echo hi")\n(from "a")\n(copy ["--from=a"] "/bin/sh" "/sh")\n' });
    const plan = await runAs(TEST_USER, [process.execPath, main, 'plan', '-f', '-', '--format', 'json', '.'], { cwd: dir, input: df });
    expect(plan.code).toBe(0);
    expect((JSON.parse(plan.stdout) as { levels: number[][] }).levels).toEqual([[0], [1]]);
  });
});

describe('rbuild plan', () => {
  const d = mkdtempSync(join(tmpdir(), 'rbuild-plan-'));
  writeFileSync(join(d, 'Dockerfile'), [
    'ARG V=1', 'FROM alpine:$V AS a', 'RUN echo a', 'FROM busybox AS b', 'ARG WHO', 'ENV GREETING="hi $WHO"',
    'FROM a', 'COPY --from=b /bin/busybox /bb', 'LABEL msg=$V', '',
  ].join('\n'));
  const capture = () => {
    const o = { stdout: '', stderr: '' };
    return { o, out: { stdout: (s: string) => void (o.stdout += s), stderr: (s: string) => void (o.stderr += s) } };
  };

  it('prints stages, deps, levels and expanded instructions', async () => {
    const { o, out } = capture();
    expect(await runPlan({ context: d, buildArgs: ['WHO=you', 'V=2', 'EXTRA=1'] }, out)).toBe(0);
    expect(o.stdout).toContain('level 0: 0 (a), 1 (b)  (parallel)');
    expect(o.stdout).toContain('stage 2  from stage 0 (a)');
    expect(o.stdout).toContain('needs: 0 (a), 1 (b)');
    expect(o.stdout).toContain('FROM alpine:2 AS a');
    expect(o.stdout).toContain('ENV GREETING="hi you"');
    expect(o.stdout).toContain('LABEL msg=""'); // V is a global ARG, not redeclared in the stage
    expect(o.stdout).toContain('warning: one or more build-args [EXTRA] were not consumed');
  });
  it('--target prunes and --format json is machine-readable', async () => {
    const { o, out } = capture();
    expect(await runPlan({ context: d, target: 'B', format: 'json' }, out)).toBe(0);
    const j = JSON.parse(o.stdout) as { target: number; levels: number[][]; stages: Array<{ name: string; instructions: Array<{ text: string }> }> };
    expect(j.target).toBe(1);
    expect(j.levels).toEqual([[1]]);
    expect(j.stages.map((s) => s.name)).toEqual(['b']);
    expect(j.stages[0]!.instructions.map((i) => i.text)).toEqual(['FROM busybox AS b', 'ARG WHO', 'ENV GREETING="hi "']);
  });
  it('passes ENV but not ARG values to child stages', async () => {
    const dd = mkdtempSync(join(tmpdir(), 'rbuild-plan-'));
    writeFileSync(join(dd, 'Dockerfile'), 'FROM a AS p\nARG X=1\nENV Y=2\nFROM p\nLABEL x=$X y=$Y\n');
    const { o, out } = capture();
    expect(await runPlan({ context: dd }, out)).toBe(0);
    expect(o.stdout).toContain('LABEL x="" y=2');
  });
  it('reports errors with exit status 1', async () => {
    const { o, out } = capture();
    expect(await runPlan({ context: d, target: 'nope' }, out)).toBe(1);
    expect(o.stderr).toMatch(/failed to reach build target nope/);
    const r = await cli(['plan', '-f', d, d]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is a directory/);
  });
  it('parses --build-arg like docker', () => {
    expect([...parseBuildArgs(['A=1', 'B', 'C', 'D='], { B: 'env' })]).toEqual([['A', '1'], ['B', 'env'], ['D', '']]);
  });
});
