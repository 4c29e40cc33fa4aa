/** Issue 6: the build cache is shared by concurrent builds safely (one store, several rbuild processes at once). */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDirFor, TEST_USER } from '../support/unprivileged.js';
import { busybox, events, rbuild, writeContext } from './build-fixtures.js';

afterAll(removeTempDirs);

describe('concurrent builds in one store', () => {
  it('all finish, each keeps its tag, and every step is a cache hit afterwards', async () => {
    const work = tempDirFor(TEST_USER, 'rbuild-conc-');
    const store = join(work, 'store');
    const ctxs = [1, 2, 3].map((i) => {
      const ctx = join(work, `ctx${i}`);
      // The same first steps (one cache record written by three builds at once), then a step of its own.
      writeContext(ctx, { Dockerfile: `FROM ${busybox()}\nCOPY a.txt /a\nRUN echo shared > /shared\nRUN echo own${i} > /own\n`, 'a.txt': 'same\n' });
      return ctx;
    });
    const first = await Promise.all(ctxs.map((c, i) => rbuild(['build', '--root', store, '--progress=plain', '-t', `conc${i + 1}`, c])));
    for (const r of first) {
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
    }
    const again = await Promise.all(ctxs.map((c, i) => rbuild(['build', '--root', store, '--progress=json', '-t', `conc${i + 1}`, c])));
    for (const r of again) {
      expect(r.code).toBe(0);
      expect(events(r.stderr).filter((e) => e.type === 'step-start')).toEqual([]);
    }
    const images = await rbuild(['images', '--root', store, '--format', 'json']);
    const names = (JSON.parse(images.stdout) as Array<{ name: string }>).map((i) => i.name).filter((n) => n.includes('/conc')).sort();
    expect(names).toEqual(['docker.io/library/conc1:latest', 'docker.io/library/conc2:latest', 'docker.io/library/conc3:latest']);
  });
});
