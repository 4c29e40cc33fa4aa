import { describe, expect, it } from 'vitest';
import { createIgnoreMatcher } from './dockerignore.js';

// Tables from Docker's fileutils / moby patternmatcher tests.
const matches: Array<[string, string, boolean]> = [
  ['**', 'file', true], ['**', 'file/', true], ['**/', 'file', true], ['**/', 'file/', true], ['**', '/', true], ['**/', '/', true],
  ['**', 'dir/file', true], ['**/', 'dir/file', true], ['**', 'dir/file/', true], ['**/', 'dir/file/', true],
  ['**/**', 'dir/file', true], ['**/**', 'dir/file/', true], ['dir/**', 'dir/file', true], ['dir/**', 'dir/file/', true],
  ['dir/**', 'dir/dir2/file', true], ['dir/**', 'dir/dir2/file/', true], ['**/dir2/*', 'dir/dir2/file', true],
  ['**/dir2/*', 'dir/dir2/file/', true], ['**/dir2/**', 'dir/dir2/dir3/file', true], ['**/dir2/**', 'dir/dir2/dir3/file/', true],
  ['**file', 'file', true], ['**file', 'dir/file', true], ['**/file', 'dir/file', true], ['**file', 'dir/dir/file', true],
  ['**/file', 'dir/dir/file', true], ['**/file*', 'dir/dir/file', true], ['**/file*', 'dir/dir/file.txt', true],
  ['**/file*txt', 'dir/dir/file.txt', true], ['**/file*.txt', 'dir/dir/file.txt', true], ['**/file*.txt*', 'dir/dir/file.txt', true],
  ['**/**/*.txt', 'dir/dir/file.txt', true], ['**/**/*.txt2', 'dir/dir/file.txt', false], ['**/*.txt', 'file.txt', true],
  ['**/**/*.txt', 'file.txt', true], ['a**/*.txt', 'a/file.txt', true], ['a**/*.txt', 'a/dir/file.txt', true],
  ['a**/*.txt', 'a/dir/dir/file.txt', true], ['a/*.txt', 'a/dir/file.txt', false], ['a/*.txt', 'a/file.txt', true],
  ['a/*.txt**', 'a/file.txt', true], ['a[b-d]e', 'ae', false], ['a[b-d]e', 'ace', true], ['a[b-d]e', 'aae', false],
  ['a[^b-d]e', 'aze', true], ['.*', '.foo', true], ['.*', 'foo', false], ['abc.def', 'abcdef', false], ['abc.def', 'abc.def', true],
  ['abc.def', 'abcZdef', false], ['abc?def', 'abcZdef', true], ['abc?def', 'abcdef', false], ['a\\\\', 'a\\', true],
  ['**/foo/bar', 'foo/bar', true], ['**/foo/bar', 'dir/foo/bar', true], ['**/foo/bar', 'dir/dir2/foo/bar', true],
  ['abc/**', 'abc', false], ['abc/**', 'abc/def', true], ['abc/**', 'abc/def/ghi', true], ['**/.foo', '.foo', true], ['**/.foo', 'bar.foo', false],
];

// Go's filepath.Match table as Docker runs it (parent directories count).
const goMatch: Array<[string, string, boolean | 'bad']> = [
  ['abc', 'abc', true], ['*', 'abc', true], ['*c', 'abc', true], ['a*', 'a', true], ['a*', 'abc', true], ['a*', 'ab/c', true],
  ['a*/b', 'abc/b', true], ['a*/b', 'a/c/b', false], ['a*b*c*d*e*/f', 'axbxcxdxe/f', true], ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false], ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false], ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false], ['ab[c]', 'abc', true], ['ab[b-d]', 'abc', true], ['ab[e-g]', 'abc', false],
  ['ab[^c]', 'abc', false], ['ab[^b-d]', 'abc', false], ['ab[^e-g]', 'abc', true], ['a\\*b', 'a*b', true], ['a\\*b', 'ab', false],
  ['a?b', 'a☺b', true], ['a[^a]b', 'a☺b', true], ['a???b', 'a☺b', false], ['a[^a][^a][^a]b', 'a☺b', false], ['[a-ζ]*', 'α', true],
  ['*[a-ζ]', 'A', false], ['a?b', 'a/b', false], ['a*b', 'a/b', false], ['[\\]a]', ']', true], ['[\\-]', '-', true],
  ['[x\\-]', 'x', true], ['[x\\-]', '-', true], ['[x\\-]', 'z', false], ['[\\-x]', 'x', true], ['[\\-x]', '-', true], ['[\\-x]', 'a', false],
  ['[]a]', ']', 'bad'], ['[-]', '-', 'bad'], ['[x-]', 'x', 'bad'], ['[x-]', '-', 'bad'], ['[x-]', 'z', 'bad'], ['[-x]', 'x', 'bad'],
  ['[-x]', '-', 'bad'], ['[-x]', 'a', 'bad'], ['\\', 'a', 'bad'], ['[a-b-c]', 'a', 'bad'], ['[', 'a', 'bad'], ['[^', 'a', 'bad'],
  ['[^bc', 'a', 'bad'], ['a[', 'a', 'bad'], ['a[', 'ab', 'bad'], ['*x', 'xxx', true],
];

describe("Docker's pattern tables", () => {
  it.each(matches)('%s ~ %s = %s', (pattern, text, want) => {
    expect(createIgnoreMatcher([pattern]).matches(text)).toBe(want);
  });
  it.each(goMatch)('filepath.Match %s ~ %s = %s', (pattern, text, want) => {
    if (want === 'bad') expect(() => createIgnoreMatcher([pattern])).toThrow(/syntax error in pattern/);
    else expect(createIgnoreMatcher([pattern]).matches(text)).toBe(want);
  });
  it('folder exceptions', () => {
    expect(createIgnoreMatcher(['docs', '!docs/README.md']).matches('docs/README.md')).toBe(false);
    expect(createIgnoreMatcher(['docs/', '!docs/README.md']).matches('docs/README.md')).toBe(false);
    expect(createIgnoreMatcher(['docs/*', '!docs/README.md']).matches('docs/README.md')).toBe(false);
    expect(createIgnoreMatcher(['*.go', '!fileutils.go']).matches('fileutils.go')).toBe(false);
    expect(createIgnoreMatcher(['!fileutils.go', '*.go']).matches('fileutils.go')).toBe(true);
    expect(createIgnoreMatcher(['*.go']).matches('.')).toBe(false);
    expect(createIgnoreMatcher([]).matches('/any/path/there')).toBe(false);
    expect(createIgnoreMatcher(['docs', '  !docs/README.md  ']).hasExclusions).toBe(true);
  });
});
