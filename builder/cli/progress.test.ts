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
