/** --squash: the final stage's own changes in one layer, deletions of base files as whiteouts. */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../support/unprivileged.js';
import { blobPath, buildDirs, builtImage, busybox, rbuild, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('--squash', () => {
  it('gives one layer for the stage, consistent history, base files deleted by whiteouts', async () => {
    const { store, ctx, meta } = buildDirs('rbuild-sq-');
    writeContext(ctx, { Dockerfile: `FROM ${busybox()}\nRUN echo a > /a\nENV X=1\nRUN echo b > /b && rm /bin/ls\nRUN rm /a\n` });
    const r = await rbuild(['build', '--root', store, '--squash', '--metadata-file', meta, ctx]);
    expect(r.code).toBe(0);
    const { manifest: m, config } = builtImage(store, meta);
    expect(m.layers.length).toBe(2);
    const entries = execFileSync('tar', ['-tf', blobPath(store, m.layers[1].digest)], { encoding: 'utf8' }).split('\n').filter((e) => e && e !== 'etc/').sort(); // etc/: every RUN touches it (the /etc/hosts mount point)
    expect(entries).toEqual(['b', 'bin/', 'bin/.wh.ls']);
    expect(config.rootfs.diff_ids.length).toBe(2);
    expect(config.history.filter((h: { empty_layer?: boolean }) => !h.empty_layer).length).toBe(2);
    expect(config.config.Env).toContain('X=1');
  });
});
