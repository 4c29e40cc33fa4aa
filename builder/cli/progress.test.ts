import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../build/events.js';
import { createProgress, gitlabSection } from './progress.js';

/** A stream that keeps what is written. */
function sink(): { out: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  return { out: { isTTY: false, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

const steps: BuildEvent[] = [
  { type: 'step-cached', step: 'b/1', stage: 'b', index: 1, total: 3, text: 'FROM busybox' },
  { type: 'step-start', step: 'b/2', stage: 'b', index: 2, total: 3, text: 'RUN make' },
  { type: 'step-log', step: 'b/2', stream: 'stdout', data: 'compiling\n' },
  { type: 'step-done', step: 'b/2', ms: 1500 },
  { type: 'step-start', step: 'b/3', stage: 'b', index: 3, total: 3, text: 'RUN false' },
  { type: 'step-log', step: 'b/3', stream: 'stderr', data: 'no newline' },
  { type: 'step-error', step: 'b/3', message: 'exit code 1' },
];

const ESC = '\x1b';

describe('GitLab collapsible sections', () => {
  it('formats section markers as GitLab documents them', () => {
    expect(gitlabSection('start', 'rbuild_step_2', '#2 RUN make', 1_700_000_000_500)).toBe(`${ESC}[0Ksection_start:1700000000:rbuild_step_2\r${ESC}[0K#2 RUN make`);
    expect(gitlabSection('end', 'rbuild_step_2', '', 1_700_000_000_500)).toBe(`${ESC}[0Ksection_end:1700000000:rbuild_step_2\r${ESC}[0K`);
  });

  it('wraps each run step in a section in plain mode when GITLAB_CI=true', () => {
    const s = sink();
    const p = createProgress('auto', s.out, { GITLAB_CI: 'true' });
    for (const e of steps) p.event(e);
    const lines = s.text().replace(/:\d+:/g, ':T:').split('\n');
    expect(lines).toEqual([
      '#1 [b 1/3] FROM busybox CACHED',
      `${ESC}[0Ksection_start:T:rbuild_step_2\r${ESC}[0K#2 [b 2/3] RUN make`,
      '#2 compiling',
      '#2 DONE 1.5s',
      `${ESC}[0Ksection_end:T:rbuild_step_2\r${ESC}[0K`,
      `${ESC}[0Ksection_start:T:rbuild_step_3\r${ESC}[0K#3 [b 3/3] RUN false`,
      '#3 no newline',
      '#3 ERROR: exit code 1',
      `${ESC}[0Ksection_end:T:rbuild_step_3\r${ESC}[0K`,
      '',
    ]);
  });

  it('writes no markers outside GitLab or in json mode', () => {
    for (const [mode, env] of [['plain', {}], ['plain', { GITLAB_CI: 'false' }], ['json', { GITLAB_CI: 'true' }]] as const) {
      const s = sink();
      const p = createProgress(mode, s.out, env);
      for (const e of steps) p.event(e);
      expect(s.text()).not.toContain('section_');
    }
  });
});

describe('blob progress through createProgress', () => {
  const D = `sha256:${'c0'.repeat(32)}`;
  const blob = (status: 'start' | 'progress' | 'done', current: number): BuildEvent => ({ type: 'blob', action: 'pull', ref: 'busybox', digest: D, status, current, total: 1000 });

  it('json: one event per line with stable fields, progress thinned per blob', () => {
    const s = sink();
    let t = Date.UTC(2026, 0, 1);
    const p = createProgress('json', s.out, {}, () => t);
    p.event({ type: 'pull', ref: 'busybox', phase: 'start' });
    p.event(blob('start', 0));
    for (let i = 1; i <= 10; i++) {
      t += 100;
      p.event(blob('progress', i * 100));
    }
    p.event(blob('done', 1000));
    p.finish({ digest: 'sha256:ff', tags: [] });
    const lines = s.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[1]).toEqual({ time: '2026-01-01T00:00:00.000Z', type: 'blob', action: 'pull', ref: 'busybox', digest: D, status: 'start', current: 0, total: 1000 });
    expect(lines.filter((l) => l.type === 'blob').map((l) => `${l.status} ${l.current}`)).toEqual(['start 0', 'progress 300', 'progress 600', 'progress 900', 'done 1000']);
    expect(lines.at(-1)).toMatchObject({ type: 'result', digest: 'sha256:ff' });
  });

  it('plain: start and end lines with size and time', () => {
    const s = sink();
    let t = 0;
    const p = createProgress('plain', s.out, {}, () => t);
    p.event({ type: 'pull', ref: 'busybox', phase: 'start' });
    p.event(blob('start', 0));
    t = 300;
    p.event(blob('progress', 500));
    p.event(blob('done', 1000));
    p.event({ type: 'pull', ref: 'busybox', phase: 'done', layers: 1, bytes: 1000 });
    expect(s.text()).toBe('pulling busybox\npull c0c0c0c0c0c0: start 1000 B\npull c0c0c0c0c0c0: done 1000 B 0.3s\npulled busybox (1 layers, 1000 B)\n');
  });

  it('tty: bars wait for the redraw timer; the pull ends as permanent lines above an empty live area', () => {
    const s = sink();
    (s.out as { isTTY: boolean }).isTTY = true;
    Object.assign(s.out, { columns: 60, rows: 20 });
    let t = 0;
    const p = createProgress('auto', s.out, {}, () => t);
    p.event({ type: 'pull', ref: 'busybox', phase: 'start' });
    const afterStart = s.text();
    expect(afterStart).toContain('=> pulling busybox');
    p.event(blob('start', 0));
    t = 500;
    p.event(blob('progress', 500));
    expect(s.text()).toBe(afterStart); // no redraw per event
    p.event(blob('done', 1000));
    p.event({ type: 'pull', ref: 'busybox', phase: 'done', layers: 1, bytes: 1000 });
    p.finish({ tags: [] });
    const end = s.text().slice(afterStart.length).replace(/\x1b\[[0-9;]*m/g, '');
    // Cursor up over the one live line, erase, then the permanent lines.
    expect(end).toBe('\x1b[1A\x1b[Jpulled busybox (1 layers, 1000 B) 0.5s\n  c0c0c0c0c0c0 done 1000 B 0.5s\n'.replace(/\x1b\[[0-9;]*m/g, ''));
  });
});
