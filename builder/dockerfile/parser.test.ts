import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findConformanceDir } from './conformance-dir.js';
import { DockerfileError } from './errors.js';
import { dumpAst, parseDockerfile } from './parser.js';
import { parseCheckDirective } from './parser-directives.js';

const dir = join(findConformanceDir(), 'buildkit');

describe('BuildKit parser-testfiles', () => {
  const cases = readdirSync(join(dir, 'parser-testfiles'));
  it('found the cases', () => expect(cases.length).toBeGreaterThan(30));
  for (const c of cases) {
    it(c, () => {
      const text = readFileSync(join(dir, 'parser-testfiles', c, 'Dockerfile'), 'utf8');
      const want = readFileSync(join(dir, 'parser-testfiles', c, 'result'), 'utf8');
      expect(dumpAst(parseDockerfile(text, { file: 'Dockerfile' }))).toBe(want);
    });
  }
});

describe('BuildKit parser-testfiles-negative', () => {
  const cases = readdirSync(join(dir, 'parser-testfiles-negative'));
  it('found the cases', () => expect(cases.length).toBeGreaterThan(3));
  for (const c of cases) {
    it(c, () => {
      const text = readFileSync(join(dir, 'parser-testfiles-negative', c, 'Dockerfile'), 'utf8');
      expect(() => parseDockerfile(text, { file: 'Dockerfile' })).toThrow(DockerfileError);
    });
  }
});

const parse = (t: string) => parseDockerfile(t, { file: 'Dockerfile' });

describe('parser details', () => {
  it('reads directives and the backtick escape', () => {
    const r = parse('# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nFROM a\nRUN echo `\n  hi\n');
    expect(r.directives.map((d) => [d.name, d.value, d.line])).toEqual([
      ['syntax', 'docker/dockerfile:1', 1], ['check', 'skip=all', 2], ['escape', '`', 3],
    ]);
    expect(r.escapeToken).toBe('`');
    expect(dumpAst(r)).toBe('(from "a")\n(run "echo   hi")\n');
    expect(r.nodes[1]!.startLine).toBe(5);
    expect(r.nodes[1]!.endLine).toBe(6);
  });
  it('warns when the syntax directive names a custom frontend', () => {
    expect(parse('# syntax=docker/dockerfile:1.7\nFROM a\n').warnings).toEqual([]);
    expect(parse('# syntax=docker.io/docker/dockerfile-upstream:master\nFROM a\n').warnings).toEqual([]);
    expect(parse('# syntax=example.com/my/frontend:1\nFROM a\n').warnings).toMatchObject([{ code: 'CUSTOM_SYNTAX_IGNORED', line: 1 }]);
  });
  it('parses the check directive', () => {
    expect(parseCheckDirective('skip=JSONArgsRecommended,StageNameCasing;error=true')).toEqual({ skip: ['JSONArgsRecommended', 'StageNameCasing'], error: true });
    expect(parseCheckDirective('skip=all')).toEqual({ skip: 'all', error: false });
    expect(() => parseCheckDirective('error=maybe')).toThrow(/invalid check directive/);
  });
  it('rejects a repeated directive and a bad escape', () => {
    expect(() => parse('# escape=`\n# escape=\\\nFROM a\n')).toThrow(/only one escape/);
    expect(() => parse('# escape=x\nFROM a\n')).toThrow(/invalid escape token/);
  });
  it('handles CRLF and a BOM', () => {
    const r = parse('\uFEFFFROM a\r\nRUN a \\\r\n  b\r\n');
    expect(dumpAst(r)).toBe('(from "a")\n(run "a   b")\n');
  });
  it('skips comments and warns on empty lines inside continuations', () => {
    const r = parse('FROM a\nRUN a \\\n# c\n\n  b\n');
    expect(dumpAst(r)).toBe('(from "a")\n(run "a   b")\n');
    expect(r.warnings).toHaveLength(1);
    expect(r.nodes[1]!.endLine).toBe(5);
  });
  it('reads heredocs', () => {
    const r = parse('FROM a\nRUN <<EOF\necho hi\nEOF\nCOPY <<-"A" <<B /dst/\n\tx $y\n\tA\nz\nB\nRUN ["<<EOF"]\n');
    expect(dumpAst(r)).toBe('(from "a")\n(run "<<EOF")\n(copy "<<-\\"A\\"" "<<B" "/dst/")\n(run "<<EOF")\n');
    const [, run, copy] = r.nodes;
    expect(run!.heredocs).toEqual([{ name: 'EOF', fileDescriptor: 0, expand: true, chomp: false, content: 'echo hi\n' }]);
    expect(run!.endLine).toBe(4);
    expect(copy!.heredocs.map((h) => [h.name, h.expand, h.chomp, h.content])).toEqual([
      ['A', false, true, '\tx $y\n'], ['B', true, false, 'z\n'],
    ]);
    expect(copy!.startLine).toBe(5);
    expect(copy!.endLine).toBe(9);
  });
  it('rejects an unterminated heredoc', () => {
    expect(() => parse('FROM a\nRUN <<EOF\necho\n')).toThrow(/unterminated heredoc/);
  });
  it('reads ONBUILD heredocs and flags', () => {
    const r = parse('FROM a\nONBUILD RUN --mount=type=cache,target=/c <<EOF\nx\nEOF\n');
    expect(dumpAst(r)).toBe('(from "a")\n(onbuild (run ["--mount=type=cache,target=/c"] "<<EOF"))\n');
    expect(r.nodes[1]!.heredocs[0]!.content).toBe('x\n');
  });
  it('distinguishes an empty file from one with only comments', () => {
    expect(() => parse('')).toThrow(expect.objectContaining({ code: 'DOCKERFILE_EMPTY' }));
    expect(() => parse('# x\n\n')).toThrow(expect.objectContaining({ code: 'DOCKERFILE_NO_INSTRUCTIONS' }));
  });
  it('locates a JSON error on its line', () => {
    try {
      parse('FROM a\n\nCMD ["a", 1]\n');
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 3, column: 1 });
    }
  });
});
