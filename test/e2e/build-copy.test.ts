/** COPY --parents, --exclude and --link as an unprivileged user. */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../support/unprivileged.js';
import { blobPath, buildDirs, builtImage, busybox, rbuild, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('COPY flags', () => {
  it('--parents, --exclude, and a --link layer that does not depend on what is below', async () => {
    const { store, ctx, meta } = buildDirs('rbuild-copy-');
    const dockerfile = (below: string) => [
      `FROM ${busybox()}`,
      below,
      'COPY --parents x/a.txt y/b.txt /p/',
      'COPY --parents ./x/./deep/c.txt /pivot/',
      'COPY --exclude=**/*.md --exclude=skip docs /docs/',
      'COPY --link --chown=nobody big.txt /linked/',
      '',
    ].join('\n');
    writeContext(ctx, {
      Dockerfile: dockerfile('RUN echo one > /below'),
      'x/a.txt': 'a', 'y/b.txt': 'b', 'x/deep/c.txt': 'c',
      'docs/keep.txt': 'k', 'docs/drop.md': 'd', 'docs/skip/inner.txt': 's', 'docs/sub/also.md': 'm',
      'big.txt': 'linked content\n',
    });
    const build = async () => {
      const r = await rbuild(['build', '--root', store, '--progress=plain', '--source-date-epoch', '0', '--metadata-file', meta, ctx]);
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      const m = builtImage(store, meta).manifest;
      return { digests: m.layers.map((l: { digest: string }) => l.digest) as string[], path: (i: number) => blobPath(store, m.layers[i].digest) };
    };
    const first = await build();
    const names = (i: number) => execFileSync('tar', ['-tf', first.path(i)], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
    expect(names(2)).toEqual(['p/', 'p/x/', 'p/x/a.txt', 'p/y/', 'p/y/b.txt']);
    expect(names(3)).toEqual(['pivot/', 'pivot/deep/', 'pivot/deep/c.txt']);
    expect(names(4)).toEqual(['docs/', 'docs/keep.txt', 'docs/sub/']);
    expect(names(5)).toEqual(['linked/', 'linked/big.txt']);
    expect(execFileSync('tar', ['--numeric-owner', '-tvf', first.path(5), 'linked/big.txt'], { encoding: 'utf8' })).toMatch(/65534\/65534/);

    // Another layer below: the --link layer stays byte for byte the same.
    writeContext(ctx, { Dockerfile: dockerfile('RUN echo two > /below && mkdir /linked && touch /linked/other') });
    const second = await build();
    expect(second.digests[1]).not.toBe(first.digests[1]);
    expect(second.digests[5]).toBe(first.digests[5]);
  });
});
