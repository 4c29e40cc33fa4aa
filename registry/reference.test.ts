import { describe, expect, it } from 'vitest';
import {
  familiarName,
  familiarString,
  formatReference,
  InvalidReferenceError,
  parseReference,
} from './reference.js';

const hex = 'a'.repeat(64);

// Cases from distribution/reference's normalize_test.go and reference_test.go.
describe('parseReference: normalisation', () => {
  const table: Array<[string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['user/app', 'docker.io/user/app:latest'],
    ['user/app/sub', 'docker.io/user/app/sub:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app:v1', 'localhost:5000/app:v1'],
    ['127.0.0.1:5000/a/b:tag', '127.0.0.1:5000/a/b:tag'],
    ['[::1]:5000/a:t', '[::1]:5000/a:t'],
    ['ghcr.io/owner/repo:1.0', 'ghcr.io/owner/repo:1.0'],
    ['Foo.example/app', 'Foo.example/app:latest'],
    // A first component with uppercase letters can only be a host.
    ['FOO/app', 'FOO/app:latest'],
    ['localhost:5000', 'docker.io/library/localhost:5000'],
    ['a__b/c-d--e.f', 'docker.io/a__b/c-d--e.f:latest'],
    [`busybox@sha256:${hex}`, `docker.io/library/busybox@sha256:${hex}`],
    [`busybox:1@sha256:${hex}`, `docker.io/library/busybox:1@sha256:${hex}`],
    [`host:5000/x@sha256:${hex}`, `host:5000/x@sha256:${hex}`],
  ];
  for (const [input, want] of table) {
    it(`${input} -> ${want}`, () => expect(formatReference(parseReference(input))).toBe(want));
  }

  it('splits fields', () => {
    expect(parseReference('127.0.0.1:5000/a/b:tag')).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'a/b',
      tag: 'tag',
    });
  });

  it('leaves the tag out when asked', () => {
    expect(parseReference('busybox', { defaultTag: false }).tag).toBeUndefined();
  });
});

describe('parseReference: rejects with the broken rule', () => {
  const bad: Array<[string, string]> = [
    ['', 'empty'],
    [':tag', 'empty'],
    ['Busybox', 'uppercase'],
    ['docker.io/Library/busybox', 'uppercase'],
    [hex, 'hex-name'],
    ['busybox:', 'tag'],
    ['busybox:-x', 'tag'],
    [`busybox:${'t'.repeat(129)}`, 'tag'],
    ['busybox@sha256:abc', 'digest'],
    [`busybox@sha256:${'A'.repeat(64)}`, 'digest'],
    [`busybox@md5:${'a'.repeat(32)}`, 'digest'],
    ['a/-b', 'path'],
    ['a/b_', 'path'],
    ['a//b', 'path'],
    ['a/b___c', 'path'],
    ['-host.com/a', 'domain'],
    ['host.com:port/a', 'domain'],
    [`x.io/${'a'.repeat(255)}`, 'length'],
  ];
  for (const [input, rule] of bad) {
    it(`${JSON.stringify(input.slice(0, 40))} breaks ${rule}`, () => {
      let err: unknown;
      try {
        parseReference(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidReferenceError);
      expect((err as InvalidReferenceError).rule).toBe(rule);
      expect((err as InvalidReferenceError).code).toBe('INVALID_REFERENCE');
      expect((err as Error).message).toContain('invalid reference');
    });
  }
});

describe('familiarName', () => {
  const table: Array<[string, string, string]> = [
    ['busybox', 'busybox', 'busybox:latest'],
    ['docker.io/library/busybox:1', 'busybox', 'busybox:1'],
    ['user/app', 'user/app', 'user/app:latest'],
    ['docker.io/library/a/b', 'library/a/b', 'library/a/b:latest'],
    ['localhost:5000/app:1', 'localhost:5000/app', 'localhost:5000/app:1'],
  ];
  for (const [input, name, str] of table) {
    it(`${input} -> ${name}`, () => {
      const ref = parseReference(input);
      expect(familiarName(ref)).toBe(name);
      expect(familiarString(ref)).toBe(str);
    });
  }
});
