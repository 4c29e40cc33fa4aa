/** ONBUILD: triggers of a base image run at the start of the child's stage, and the child does not inherit them. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirFor, TEST_USER, removeTempDirs } from '../support/unprivileged.js';
import { busybox, events, rbuild, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('ONBUILD', () => {
  it('runs the base image triggers first', async () => {
    const work = tempDirFor(TEST_USER, 'rbuild-onb-');
    const store = join(work, 'store');
    const meta = join(work, 'meta.json');
    writeContext(join(work, 'base'), {
      Dockerfile: `FROM ${busybox()}\nONBUILD COPY a.txt /from-trigger.txt\nONBUILD RUN echo triggered > /t\n`,
    });
    expect((await rbuild(['build', '--root', store, '-t', 'onb-base:1', join(work, 'base')])).code).toBe(0);
    writeContext(join(work, 'child'), { Dockerfile: 'FROM onb-base:1\nRUN cat /from-trigger.txt /t > /both\n', 'a.txt': 'from child context\n' });
    const r = await rbuild(['build', '--root', store, '--progress=json', '--metadata-file', meta, join(work, 'child')]);
    expect(r.code).toBe(0);
    const started = events(r.stderr).filter((e) => e.type === 'step-start').map((e) => e.text);
    expect(started).toEqual(['COPY a.txt /from-trigger.txt', 'RUN echo triggered > /t', 'RUN cat /from-trigger.txt /t > /both']);
    const blob = (d: string) => join(store, 'oci/blobs/sha256', d.replace('sha256:', ''));
    const m = JSON.parse(readFileSync(blob(JSON.parse(readFileSync(meta, 'utf8'))['containerimage.digest']), 'utf8'));
    expect(execFileSync('tar', ['-xOf', blob(m.layers.at(-1).digest), 'both'], { encoding: 'utf8' })).toBe('from child context\ntriggered\n');
    const config = JSON.parse(readFileSync(blob(m.config.digest), 'utf8'));
    expect(config.config.OnBuild ?? null).toBeNull();
  });
});
