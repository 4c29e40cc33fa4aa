/** Heredocs in RUN (plain, shebang, `<<EOF sh`, several) and COPY, as BuildKit runs them. */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../support/unprivileged.js';
import { blobPath, buildDirs, builtImage, busybox, rbuild, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('heredocs', () => {
  it('RUN and COPY heredocs', async () => {
    const { store, ctx, meta } = buildDirs('rbuild-hd-');
    writeContext(ctx, {
      Dockerfile: [
        `FROM ${busybox()}`,
        'ENV FOO=bar',
        'RUN <<EOF',
        'echo one > /one',
        'echo two >> /one',
        'EOF',
        'RUN <<EOF',
        '#!/bin/sh',
        'echo "shebang $0 $FOO" > /shebang',
        'EOF',
        'RUN <<EOF sh',
        'echo "via sh" > /viash',
        'EOF',
        'RUN cat <<A > /a && cat <<B > /b',
        'first $FOO',
        'A',
        'second',
        'B',
        'RUN <<-EOF',
        '\techo tabbed > /tabbed',
        '\tEOF',
        'COPY <<EOF /copied.txt',
        'hello $FOO',
        'EOF',
        'COPY <<"EOF" /raw.txt',
        'hello $FOO',
        'EOF',
        '',
      ].join('\n'),
    });
    const r = await rbuild(['build', '--root', store, '--progress=plain', '--metadata-file', meta, ctx]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const layers: string[] = builtImage(store, meta).manifest.layers.slice(1).map((l: { digest: string }) => blobPath(store, l.digest));
    const file = (i: number, p: string) => execFileSync('tar', ['-xOf', layers[i]!, p], { encoding: 'utf8' });
    const names = (i: number) => execFileSync('tar', ['-tf', layers[i]!], { encoding: 'utf8' }).split('\n').filter((e) => e && e !== 'etc/' && e !== 'dev/');
    expect(file(0, 'one')).toBe('one\ntwo\n');
    expect(file(1, 'shebang')).toBe('shebang /dev/pipes/EOF bar\n');
    expect(names(1)).toEqual(['shebang']);
    expect(file(2, 'viash')).toBe('via sh\n');
    expect(file(3, 'a')).toBe('first bar\n');
    expect(file(3, 'b')).toBe('second\n');
    expect(file(4, 'tabbed')).toBe('tabbed\n');
    expect(file(5, 'copied.txt')).toBe('hello bar\n');
    expect(file(6, 'raw.txt')).toBe('hello $FOO\n');
  });
});
