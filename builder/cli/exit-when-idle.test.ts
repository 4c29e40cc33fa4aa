import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { exitWhenIdle, type ExitHost } from './exit-when-idle.js';

const execFileP = promisify(execFile);

function fakeHost(active: string[]): ExitHost & { exited: boolean; ticks: Array<() => void> } {
  const h = {
    exited: false,
    ticks: [] as Array<() => void>,
    nextTick: (fn: () => void) => void h.ticks.push(fn),
    getActiveResourcesInfo: () => active,
    exit: () => void (h.exited = true),
  };
  return h;
}

describe('exitWhenIdle', () => {
  it('exits on the next tick when nothing is active', () => {
    const h = fakeHost([]);
    exitWhenIdle(h);
    expect(h.exited).toBe(false);
    h.ticks.forEach((f) => f());
    expect(h.exited).toBe(true);
  });

  it('leaves the exit to Node while a stream, a request or a timer is active', () => {
    for (const active of [['PipeWrap'], ['TTYWrap'], ['FSReqCallback'], ['Timeout']]) {
      const h = fakeHost(active);
      exitWhenIdle(h);
      h.ticks.forEach((f) => f());
      expect(h.exited).toBe(false);
    }
  });

  // The real thing, in node with stdout and stderr as pipes.
  async function runNode(body: string): Promise<{ code: number; stdout: string; stderr: string }> {
    // The function's own text (it imports nothing): dist/builder/cli holds CommonJS only.
    const script = `const exitWhenIdle = ${exitWhenIdle.toString()};\n${body}`;
    return execFileP(process.execPath, ['--input-type=module', '-e', script], { maxBuffer: 1 << 22 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  }

  it('exits at once with the exit code when idle', async () => {
    const r = await runNode(`process.exitCode = 3; exitWhenIdle(process, (exited) => process._rawDebug('exited=' + exited));`);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('exited=true');
  });

  it('loses nothing written to a pipe that could not take it all at once, and runs pending timers', async () => {
    const r = await runNode(`
      process.stdout.write('x'.repeat(1 << 20) + 'END\\n');
      process.stderr.write('err line\\n');
      process.exitCode = 3;
      exitWhenIdle(process, (exited) => process._rawDebug('exited=' + exited));
      setTimeout(() => process._rawDebug('timer ran'), 20);`);
    expect(r.code).toBe(3);
    expect(r.stdout.length).toBe((1 << 20) + 4);
    expect(r.stdout.endsWith('END\n')).toBe(true);
    expect(r.stderr).toContain('err line');
    expect(r.stderr).toContain('exited=false');
    expect(r.stderr).toContain('timer ran');
  });
});
