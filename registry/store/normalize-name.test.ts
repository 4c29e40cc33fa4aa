import { describe, expect, it } from 'vitest';
import { familiarName, normalizeName } from './normalize-name.js';

describe('normalizeName', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['user/app', 'docker.io/user/app:latest'],
    ['index.docker.io/library/alpine:3', 'docker.io/library/alpine:3'],
    ['localhost:5000/a/b:tag', 'localhost:5000/a/b:tag'],
    ['ghcr.io/o/r', 'ghcr.io/o/r:latest'],
    ['localhost/x', 'localhost/x:latest'],
    ['a@sha256:' + 'f'.repeat(64), 'docker.io/library/a@sha256:' + 'f'.repeat(64)],
  ])('%s -> %s', (a, b) => expect(normalizeName(a)).toBe(b));
  it.each(['Busybox', 'a/-b', 'a:b c', 'x@sha256:12'])('rejects %s', (a) => {
    expect(() => normalizeName(a)).toThrow(/invalid/);
  });
  it('familiarName shortens Docker Hub names', () => {
    expect(familiarName('docker.io/library/busybox:latest')).toBe('busybox:latest');
    expect(familiarName('docker.io/user/app:1')).toBe('user/app:1');
    expect(familiarName('ghcr.io/o/r:1')).toBe('ghcr.io/o/r:1');
  });
});
