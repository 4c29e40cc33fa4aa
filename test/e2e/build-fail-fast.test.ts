/**
 * Issue 6: "a failing stage cancels the others cleanly". Two stages run in
 * parallel; one fails while the other's RUN is still running: the build stops
 * at once with the failure, and the other step's process, mounts and
 * snapshots are gone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../support/unprivileged.js';
import { buildContext, busybox, events, processesUsing, rbuild } from './build-fixtures.js';

afterAll(removeTempDirs);

/** Whether a process with exactly this command line runs (the sandboxed step's own, not under the work dir). */
function running(cmdline: string): boolean {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() === cmdline;
    } catch {
      return false;
    }
  });
}

describe('a failing stage', () => {
  it('cancels the other running stages: their step is killed, nothing is left, the failure is reported', async () => {
    // A cache mount shared by both stages orders them without timing: `bad` fails only once `slow` runs.
    const { work, store, ctx } = buildContext('rbuild-failfast-', {
      Dockerfile: [
        `FROM ${busybox()} AS slow`,
        'RUN --mount=type=cache,id=ff,target=/c touch /c/slow-started && sleep 4711',
        `FROM ${busybox()} AS bad`,
        'RUN --mount=type=cache,id=ff,target=/c until [ -e /c/slow-started ]; do sleep 0.1; done; echo failing now; exit 3',
        `FROM ${busybox()}`,
        'COPY --from=slow /etc/hostname /slow',
        'COPY --from=bad /etc/hostname /bad',
        '',
      ].join('\n'),
    });
    const r = await rbuild(['build', '--root', store, '--progress=json', '--jobs', '3', ctx]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: RUN .*exit 3 exited with code 3$/m);
    expect(r.stderr).not.toMatch(/^error: .*(interrupted|abort)/im);
    // The slow stage had started its sleep (it was really cancelled, not skipped).
    expect(events(r.stderr).some((e) => e.type === 'step-start' && String(e.text).includes('sleep 4711'))).toBe(true);
    expect(running('sleep 4711')).toBe(false);
    expect(processesUsing(work)).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(work);
    expect(readdirSync(join(store, 'snapshots', 'active'))).toEqual([]);
  });
});
