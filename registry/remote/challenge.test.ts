import { describe, expect, it } from 'vitest';
import { parseChallenges, repositoryScope, scopeKey } from './challenge.js';

describe('parseChallenges', () => {
  it('parses a Bearer challenge as registries send it', () => {
    expect(
      parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'),
    ).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
      },
    ]);
  });
  it('parses Basic, quoted escapes, unquoted values and several challenges', () => {
    expect(parseChallenges('Basic realm="a \\"b\\"", Bearer realm=http://x/t,service=s')).toEqual([
      { scheme: 'basic', params: { realm: 'a "b"' } },
      { scheme: 'bearer', params: { realm: 'http://x/t', service: 's' } },
    ]);
  });
  it('handles absent headers and arrays', () => {
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges(['Basic realm="r"'])).toHaveLength(1);
  });
  it('makes scopes and stable keys', () => {
    expect(repositoryScope('a/b', ['pull', 'push'])).toBe('repository:a/b:pull,push');
    expect(scopeKey(['b', 'a', 'b'])).toBe('a b');
  });
});
