/** --squash: the final stage's own changes in one layer, deletions of base files as whiteouts. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirFor, TEST_USER, removeTempDirs } from '../support/unprivileged.js';
import { busybox, rbuild, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('--squash', () => {
  it('gives one layer for the stage, consistent history, base files deleted by whiteouts', async () => {
    const work = tempDirFor(TEST_USER, 'rbuild-sq-');
    const store = join(work, 'store');
    const ctx = join(work, 'ctx');
    const meta = join(work, 'meta.json');
    writeContext(ctx, { Dockerfile: `FROM ${busybox()}\nRUN echo a > /a\nENV X=1\nRUN echo b > /b && rm /bin/ls\nRUN rm /a\n` });
    const r = await rbuild(['build', '--root', store, '--squash', '--metadata-file', meta, ctx]);
    expect(r.code).toBe(0);
    const blob = (d: string) => join(store, 'oci/blobs/sha256', d.replace('sha256:', ''));
    const m = JSON.parse(readFileSync(blob(JSON.parse(readFileSync(meta, 'utf8'))['containerimage.digest']), 'utf8'));
    expect(m.layers.length).toBe(2);
    const entries = execFileSync('tar', ['-tf', blob(m.layers[1].digest)], { encoding: 'utf8' }).split('\n').filter((e) => e && e !== 'etc/').sort(); // etc/: every RUN touches it (the /etc/hosts mount point)
    expect(entries).toEqual(['b', 'bin/', 'bin/.wh.ls']);
    const config = JSON.parse(readFileSync(blob(m.config.digest), 'utf8'));
    expect(config.rootfs.diff_ids.length).toBe(2);
    expect(config.history.filter((h: { empty_layer?: boolean }) => !h.empty_layer).length).toBe(2);
    expect(config.config.Env).toContain('X=1');
  });
});
