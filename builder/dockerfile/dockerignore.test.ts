import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIgnoreMatcher, loadDockerignore, parseDockerignore } from './dockerignore.js';

const m = (...patterns: string[]) => createIgnoreMatcher(patterns);

// Cases follow moby/patternmatcher's MatchesOrParentMatches rules.
describe('Docker ignore patterns', () => {
  it.each([
    ['**', 'file', true],
    ['**', 'a/b/c', true],
    ['**/', 'file', true],
    ['**/**', 'a/b', true],
    ['dir/**', 'dir/a', true],
    ['dir/**', 'dir/a/b', true],
    ['dir/**', 'dir', false],
    ['**/*.go', 'a.go', true],
    ['**/*.go', 'x/y/a.go', true],
    ['**/*.go', 'a.gox', false],
    ['*.md', 'README.md', true],
    ['*.md', 'docs/a.md', false],
    ['docs', 'docs/a/b', true],
    ['docs', 'docsx', false],
    ['a/*/c', 'a/b/c', true],
    ['a/*/c', 'a/b/x/c', false],
    ['a/*/c', 'a/b/c/d', true],
    ['?.txt', 'a.txt', true],
    ['?.txt', 'ab.txt', false],
    ['[a-c].txt', 'b.txt', true],
    ['[a-c].txt', 'd.txt', false],
    ['a.b', 'acb', false],
    ['a+(b)', 'a+(b)', true],
    ['**/foo', 'foo', true],
    ['**/foo', 'x/foo', true],
    ['**/foo', 'xfoo', false],
    ['**/foo', 'x/yfoo', false],
    ['**foo', 'x/yfoo', true], // a suffix match, as in Docker
    ['foo/**/bar', 'foo/bar', true],
    ['foo/**/bar', 'foo/x/y/bar', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['./a/../b', 'b', true],
  ])('%s ~ %s = %s', (pattern, path, want) => {
    expect(m(pattern).matches(path)).toBe(want);
  });

  it('applies ! exceptions in order', () => {
    const x = m('docs', '!docs/keep.md');
    expect(x.matches('docs/a.md')).toBe(true);
    expect(x.matches('docs/keep.md')).toBe(false);
    expect(m('!a', 'a').matches('a')).toBe(true);
    expect(m('*.md', '!README*.md', 'README-secret.md').matches('README-secret.md')).toBe(true);
    expect(m('*.md', '!README*.md', 'README-secret.md').matches('README.md')).toBe(false);
  });

  it('never excludes the context root', () => {
    expect(m('**').matches('.')).toBe(false);
  });

  it('says which excluded directories to walk into (BuildKit fsutil rule)', () => {
    expect(m('vendor').mayContainIncluded('vendor')).toBe(false);
    const x = m('vendor', '!vendor/keep/a.go');
    expect(x.mayContainIncluded('vendor')).toBe(true);
    expect(x.mayContainIncluded('vendor/keep')).toBe(true);
    expect(x.mayContainIncluded('vendor/other')).toBe(false);
    expect(x.matches('vendor/keep/a.go')).toBe(false);
    const w = m('vendor', '!**/*.go');
    expect(w.mayContainIncluded('vendor')).toBe(true);
    expect(w.matches('vendor/x/a.go')).toBe(false);
    expect(w.matches('vendor/x/a.c')).toBe(true);
    expect(m('vendor', '!other\\*').mayContainIncluded('vendor')).toBe(false);
  });

  it('rejects bad patterns', () => {
    expect(() => m('!')).toThrow(/illegal exclusion/);
    expect(() => m('[')).toThrow(/syntax error/);
  });
});

describe('parseDockerignore', () => {
  it('reads lines like Docker', () => {
    expect(parseDockerignore('\uFEFF# c\n  # not a comment\n\n/abs\n! /neg/ \nx/../y\n  sp  \r\n')).toEqual([
      '# not a comment', 'abs', '!neg', 'y', 'sp',
    ]);
  });
});

describe('loadDockerignore', () => {
  it('prefers <Dockerfile>.dockerignore beside the Dockerfile', async () => {
    const ctx = mkdtempSync(join(tmpdir(), 'rbuild-di-'));
    mkdirSync(join(ctx, 'build'));
    writeFileSync(join(ctx, '.dockerignore'), 'a\n');
    writeFileSync(join(ctx, 'build', 'app.Dockerfile'), 'FROM x\n');
    expect((await loadDockerignore(ctx, join(ctx, 'build', 'app.Dockerfile'))).patterns).toEqual(['a']);
    writeFileSync(join(ctx, 'build', 'app.Dockerfile.dockerignore'), 'b\n');
    const l = await loadDockerignore(ctx, join(ctx, 'build', 'app.Dockerfile'));
    expect(l.patterns).toEqual(['b']);
    expect(l.path).toBe(join(ctx, 'build', 'app.Dockerfile.dockerignore'));
    const none = await loadDockerignore(join(ctx, 'build'));
    expect(none.path).toBeUndefined();
    expect(none.matcher.matches('anything')).toBe(false);
  });
});
