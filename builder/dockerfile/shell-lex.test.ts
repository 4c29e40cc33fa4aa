import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findConformanceDir } from './conformance-dir.js';
import { ShellLex, ShellLexError } from './shell-lex.js';

const dir = join(findConformanceDir(), 'buildkit');

describe('BuildKit envVarTest', () => {
  const env = ['PWD=/home', 'SHELL=bash', 'KOREAN=한국어', 'NULL='];
  const lex = new ShellLex('\\');
  const lines = readFileSync(join(dir, 'envVarTest'), 'utf8').split('\n');
  let count = 0;
  lines.forEach((raw, i) => {
    if (raw.startsWith('#')) return;
    const line = raw.replace(/^[ \t]+/, '');
    if (line === '') return;
    const parts = line.split('|');
    expect(parts.length).toBe(3);
    const [platform, source, expected] = parts.map((p) => p.trim()) as [string, string, string];
    if (platform !== 'A' && platform !== 'U') return; // W lines are Windows-only
    count++;
    it(`line ${i + 1}: ${source}`, () => {
      if (expected === 'error') expect(() => lex.processWord(source, env)).toThrow(ShellLexError);
      else expect(lex.processWord(source, env)).toBe(expected);
    });
  });
  it('read every case', () => expect(count).toBeGreaterThan(200));
});

describe('BuildKit wordsTest', () => {
  const lex = new ShellLex('\\');
  const env: string[] = [];
  const cases: Array<{ n: number; test: string; expected: string[]; env: string[] }> = [];
  readFileSync(join(dir, 'wordsTest'), 'utf8').split('\n').forEach((line, i) => {
    if (line.startsWith('#') || line === '') return;
    if (line.startsWith('ENV ')) {
      env.push(line.slice(3).replace(/^ +/, ''));
      return;
    }
    const parts = line.split('|');
    expect(parts.length).toBe(2);
    cases.push({ n: i + 1, test: parts[0]!.trim(), expected: parts[1]!.replace(/^ +/, '').split(','), env: [...env] });
  });
  for (const c of cases) {
    it(`line ${c.n}: ${c.test}`, () => {
      let result: string[];
      try {
        result = lex.processWords(c.test, c.env);
      } catch {
        result = ['error'];
      }
      expect(result).toEqual(c.expected);
    });
  }
  it('read every case', () => expect(cases.length).toBeGreaterThan(20));
});

describe('ShellLex operators', () => {
  const lex = new ShellLex();
  const env = { FOO: 'foo/bar/baz.tar.gz', E: '', P: 'a.b.c' };
  it.each([
    ['${FOO#*/}', 'bar/baz.tar.gz'],
    ['${FOO##*/}', 'baz.tar.gz'],
    ['${FOO%.*}', 'foo/bar/baz.tar'],
    ['${FOO%%.*}', 'foo/bar/baz'],
    ['${FOO/bar/X}', 'foo/X/baz.tar.gz'],
    ['${P//./-}', 'a-b-c'],
    ['${P/./-}', 'a-b.c'],
    ['${E-x}', ''],
    ['${E:-x}', 'x'],
    ['${E+x}', 'x'],
    ['${E:+x}', ''],
    ['${NOPE-x}', 'x'],
    ['${P#a*}', '.b.c'],
    ['${P%c}', 'a.b.'],
  ])('%s', (word, want) => expect(lex.processWord(word, env)).toBe(want));
  it('${X:?msg} and ${X?msg} fail with the message', () => {
    expect(() => lex.processWord('${E:?must set}', env)).toThrow(/E: must set/);
    expect(() => lex.processWord('${NOPE?gone}', env)).toThrow(/NOPE: gone/);
  });
  it('rejects escapes BuildKit rejects in patterns', () => {
    expect(() => lex.processWord('${P/\\./-}', env)).toThrow(/invalid escape/);
  });
  it('uses the backtick escape token', () => {
    const bt = new ShellLex('`');
    expect(bt.processWord('a`$FOO\\x', env)).toBe('a$FOO\\x');
    expect(bt.processWords('a` b c', env)).toEqual(['a b', 'c']);
  });
  it('reports matched and unmatched names', () => {
    const r = lex.process('$FOO ${NOPE:-x}', env);
    expect([...r.matched]).toEqual(['FOO']);
    expect([...r.unmatched]).toEqual(['NOPE']);
  });
  it('accepts a Map environment', () => {
    expect(lex.processWord('$A', new Map([['A', '1']]))).toBe('1');
  });
});
