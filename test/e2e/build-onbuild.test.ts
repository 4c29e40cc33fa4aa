/** ONBUILD: triggers of a base image run at the start of the child's stage, and the child does not inherit them. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../support/unprivileged.js';
import { blobPath, buildDirs, builtImage, busybox, rbuild, startedSteps, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('ONBUILD', () => {
  it('runs the base image triggers first', async () => {
    const { work, store, meta } = buildDirs('rbuild-onb-');
    writeContext(join(work, 'base'), {
      Dockerfile: `FROM ${busybox()}\nONBUILD COPY a.txt /from-trigger.txt\nONBUILD RUN echo triggered > /t\n`,
    });
    expect((await rbuild(['build', '--root', store, '-t', 'onb-base:1', join(work, 'base')])).code).toBe(0);
    writeContext(join(work, 'child'), { Dockerfile: 'FROM onb-base:1\nRUN cat /from-trigger.txt /t > /both\n', 'a.txt': 'from child context\n' });
    const r = await rbuild(['build', '--root', store, '--progress=json', '--metadata-file', meta, join(work, 'child')]);
    expect(r.code).toBe(0);
    expect(startedSteps(r.stderr)).toEqual(['COPY a.txt /from-trigger.txt', 'RUN echo triggered > /t', 'RUN cat /from-trigger.txt /t > /both']);
    const { manifest, config } = builtImage(store, meta);
    expect(execFileSync('tar', ['-xOf', blobPath(store, manifest.layers.at(-1).digest), 'both'], { encoding: 'utf8' })).toBe('from child context\ntriggered\n');
    expect(config.config.OnBuild ?? null).toBeNull();
  });
});
