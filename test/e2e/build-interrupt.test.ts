/** Ctrl-C during a build: the running step dies, nothing is left behind, finished steps stay cached. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../support/unprivileged.js';
import { buildDirs, busybox, events, processesUsing, rbuild, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('interrupting a build', () => {
  it('SIGINT kills the running RUN, exits 130, leaves no process or mount, keeps the cache', async () => {
    const { work, store, ctx } = buildDirs('rbuild-int-');
    writeContext(ctx, {
      Dockerfile: `FROM ${busybox()}\nRUN echo one > /one\nRUN echo started && sleep 1000\n`,
    });
    let stderr = '';
    let sent = false;
    const r = await rbuild(['build', '--root', store, '--progress=json', ctx], {
      onSpawn(child) {
        child.stderr!.on('data', (b: Buffer) => {
          stderr += b.toString();
          // The step's own output proves the sleep runs: interrupt the outer process now.
          if (!sent && events(stderr).some((e) => e.type === 'step-log' && String(e.data).includes('started'))) {
            sent = true;
            child.kill('SIGINT');
          }
        });
      },
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted/);
    expect(processesUsing(work)).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(work);
    // The interrupted step's active snapshot is gone.
    expect(readdirSync(join(store, 'snapshots', 'active'))).toEqual([]);

    // The next build reuses the step that finished before the interrupt.
    writeContext(ctx, { Dockerfile: `FROM ${busybox()}\nRUN echo one > /one\nRUN echo two\n` });
    const again = await rbuild(['build', '--root', store, '--progress=json', ctx]);
    expect(again.code).toBe(0);
    const ev = events(again.stderr);
    expect(ev.filter((e) => e.type === 'step-cached').map((e) => e.text)).toEqual(['RUN echo one > /one']);
    expect(ev.filter((e) => e.type === 'step-start').map((e) => e.text)).toEqual(['RUN echo two']);
  });
});
