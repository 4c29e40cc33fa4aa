import { describe, expect, it } from 'vitest';
import { normalizeBuildArgv } from './build.js';

describe('normalizeBuildArgv', () => {
  const argv = (...a: string[]) => normalizeBuildArgv(['node', 'rbuild', ...a]).slice(2);
  it('a bare --pull is docker\'s boolean: always, and never swallows the context', () => {
    expect(argv('--pull', '.')).toEqual(['--pull', 'always', '.']);
    expect(argv('-t', 'x', '.', '--pull')).toEqual(['-t', 'x', '.', '--pull', 'always']);
    expect(argv('--pull', 'never', '.')).toEqual(['--pull', 'never', '.']);
    expect(argv('--pull=missing', '.')).toEqual(['--pull=missing', '.']);
  });
  it('--check=LEVEL becomes --check --check-level LEVEL', () => {
    expect(argv('--check=warn', '.')).toEqual(['--check', '--check-level', 'warn', '.']);
    expect(argv('--check', '.')).toEqual(['--check', '.']);
  });
});
