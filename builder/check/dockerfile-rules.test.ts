import { describe, expect, it } from 'vitest';
import { parseDockerfile, toStages } from '../dockerfile/index.js';
import { checkDockerfileSource } from './dockerfile-rules.js';
import { baseFromHistory, baseImageRef } from './check-image.js';
import { dockerfileSource } from './source-map.js';
import { secretVariable } from './patterns.js';

function src(text: string, target?: string) {
  return dockerfileSource('Dockerfile', toStages(parseDockerfile(text, { file: 'Dockerfile' })), target);
}

function check(text: string) {
  return checkDockerfileSource(src(text)).map((f) => [f.ruleId, f.location.line]);
}

const compliant = [
  'FROM busybox@sha256:' + 'a'.repeat(64),
  'RUN adduser -D -u 10001 app && mkdir /app && chown app /app',
  'WORKDIR /app',
  'COPY --chown=app server /app/',
  'USER 10001',
  'EXPOSE 8080',
  'HEALTHCHECK CMD ["/app/server", "-health"]',
  'CMD ["/app/server"]',
  '',
].join('\n');

describe('Dockerfile rules', () => {
  it('the compliant Dockerfile of the rootless guide has no finding', () => {
    expect(check(compliant)).toEqual([]);
  });

  it('each rule at its line', () => {
    const text = [
      'ARG NPM_TOKEN',                                // 1 RB010
      'FROM node:20 AS build',                        // 2 RB011
      'FROM busybox:latest',                          // 3 RB011, RB014 (no HEALTHCHECK)
      'ENV API_KEY=abc VERSION=1',                    // 4 RB010
      'ADD https://example.com/a.tgz /opt/',          // 5 RB012
      'ADD --checksum=sha256:' + '0'.repeat(64) + ' https://example.com/b.tgz /opt/',
      'EXPOSE 80 8080 443/udp',                       // 7 RB006 x2
      'USER root',                                    // 8 RB001
      'ENTRYPOINT node server.js',                    // 9 RB013
      '',
    ].join('\n');
    expect(check(text)).toEqual([
      ['RB010', 1], ['RB011', 2], ['RB014', 3], ['RB011', 3], ['RB010', 4], ['RB012', 5], ['RB006', 7], ['RB006', 7], ['RB001', 8], ['RB013', 9],
    ]);
  });

  it('no USER points at the final FROM; CMD shell form only counts without ENTRYPOINT', () => {
    expect(check('FROM a@sha256:' + 'b'.repeat(64) + '\nHEALTHCHECK CMD true\nCMD echo hi\n')).toEqual([['RB001', 1], ['RB013', 3]]);
    expect(check('FROM a@sha256:' + 'b'.repeat(64) + '\nUSER 1\nHEALTHCHECK CMD true\nENTRYPOINT ["x"]\nCMD echo hi\n')).toEqual([]);
  });

  it('follows FROM <stage> chains for USER and finds the base image', () => {
    const s = src('ARG V=1.36\nFROM busybox:$V AS base\nUSER 1000\nFROM base\nHEALTHCHECK NONE\n');
    expect(checkDockerfileSource(s).map((f) => f.ruleId)).toEqual(['RB011', 'RB014']);
    expect(baseImageRef(s)).toBe('busybox:1.36');
    expect(baseImageRef(src('FROM scratch\nCOPY a /\n'))).toBeUndefined();
  });

  it('secret-looking names and values', () => {
    expect(secretVariable('GITHUB_TOKEN', undefined)).toMatch(/name/);
    expect(secretVariable('DB_PASSWORD', '')).toBeUndefined();
    expect(secretVariable('TOKEN_FILE', '/run/secrets/x')).toBeUndefined();
    expect(secretVariable('PUBLIC_KEY', 'x')).toBeUndefined();
    expect(secretVariable('URL', 'https://u:s3cret@host/x')).toMatch(/password in a URL/);
    expect(secretVariable('AWS', 'AKIAABCDEFGHIJKLMNOP')).toMatch(/AWS/);
    expect(secretVariable('AUTHOR', 'me')).toBeUndefined();
  });

  it('guesses the base layers from the history: the trailing rbuild entries are the own layers', () => {
    const h = [{ created_by: 'ADD rootfs' }, { created_by: 'CMD sh', empty_layer: true }, { created_by: 'COPY a', comment: 'rbuild' }, { created_by: 'RUN x', comment: 'rbuild' }];
    expect(baseFromHistory(h, 3)).toBe(1);
    expect(baseFromHistory(h, 4)).toBe(0);
    expect(baseFromHistory([{ created_by: 'x' }], 1)).toBe(0);
  });
});
