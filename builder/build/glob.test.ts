import { describe, expect, it } from 'vitest';
import { GlobError, globMatch, hasGlob } from './glob.js';

describe('globMatch (Go filepath.Match)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'a', true],
    ['a*', 'ab/c', false],
    ['a*/b', 'abc/b', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['ab[c]', 'abc', true],
    ['ab[b-d]', 'abc', true],
    ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false],
    ['ab[^e-g]', 'abc', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'ab', false],
    ['a?b', 'a/b', false],
    ['a*b', 'a/b', false],
    ['*.txt', 'dir/a.txt', false],
    ['*/*.txt', 'dir/a.txt', true],
  ];
  for (const [p, s, want] of cases) it(`${p} ~ ${s} = ${want}`, () => expect(globMatch(p, s)).toBe(want));
  it('rejects malformed classes', () => {
    expect(() => globMatch('[', 'a')).toThrow(GlobError);
  });
  it('detects wildcards', () => {
    expect(hasGlob('a/*.js')).toBe(true);
    expect(hasGlob('a/b.js')).toBe(false);
  });
});
