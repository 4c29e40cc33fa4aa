import { describe, expect, it } from 'vitest';
import { parseTriggers } from './onbuild.js';

describe('ONBUILD triggers', () => {
  it('parses each trigger as an instruction', () => {
    const steps = parseTriggers(['RUN echo hi > /x', 'COPY a.txt /a', 'ENV A=1'], 'base');
    expect(steps.map((s) => s.kind)).toEqual(['RUN', 'COPY', 'ENV']);
  });
  it('refuses FROM and ONBUILD', () => {
    expect(() => parseTriggers(['FROM scratch'], 'base')).toThrow(/not allowed/);
  });
});
