import { describe, expect, it } from 'vitest';
import { FailFast } from './fail-fast.js';

describe('FailFast', () => {
  it('aborts with the first failure and reports it, not the cancellations it caused', () => {
    const ff = new FailFast();
    const first = new Error('stage b: RUN exited with code 3');
    ff.fail(first);
    ff.fail(new Error('stage a: aborted'));
    expect(ff.signal.aborted).toBe(true);
    expect(ff.signal.reason).toBe(first);
    expect(ff.error(new Error('aborted'))).toBe(first);
  });
  it("follows the caller's signal, whose reason wins", () => {
    const outer = new AbortController();
    const ff = new FailFast(outer.signal);
    expect(ff.error(new Error('x'))).toEqual(new Error('x'));
    const interrupted = new Error('build interrupted (SIGINT)');
    outer.abort(interrupted);
    expect(ff.signal.reason).toBe(interrupted);
    ff.fail(new Error('a step killed by the interrupt'));
    expect(ff.error(new Error('y'))).toBe(interrupted);
    ff.dispose();
  });
});
