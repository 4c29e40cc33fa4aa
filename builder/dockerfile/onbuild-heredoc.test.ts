import { describe, expect, it } from 'vitest';
import { resolveHeredocCommand } from './heredoc-command.js';
import { toInstructions, type RunInstruction } from './instructions.js';
import { parseOnbuildTriggers } from './onbuild.js';
import { parseDockerfile } from './parser.js';

const run = (text: string) => toInstructions(parseDockerfile(`FROM a\n${text}\n`, { file: 'Dockerfile' }))[1] as RunInstruction;

describe('resolveHeredocCommand', () => {
  it('leaves plain commands alone', () => {
    expect(resolveHeredocCommand(run('RUN echo hi'))).toEqual({ cmd: ['echo hi'], prependShell: true });
  });
  it('runs a lone heredoc as the script', () => {
    expect(resolveHeredocCommand(run('RUN <<-EOF\n\techo $A\n\tEOF'))).toEqual({ cmd: ['echo $A\n'], prependShell: true });
  });
  it('runs a #! heredoc as a file', () => {
    expect(resolveHeredocCommand(run('RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF'))).toEqual({
      cmd: ['/dev/pipes/EOF'], prependShell: false, scriptFile: { path: '/dev/pipes/EOF', data: '#!/usr/bin/env python3\nprint(1)\n', mode: 0o755 },
    });
  });
  it('inlines heredocs for the shell otherwise', () => {
    expect(resolveHeredocCommand(run('RUN cat <<A > /a && cat <<B > /b\none\nA\ntwo\nB'))).toEqual({
      cmd: ['cat <<A > /a && cat <<B > /b\none\nA\ntwo\nB'], prependShell: true,
    });
  });
});

describe('parseOnbuildTriggers', () => {
  it('parses triggers and rejects forbidden ones', () => {
    expect(parseOnbuildTriggers(['RUN echo hi', 'COPY a /b'], 'base ONBUILD').map((i) => i.kind)).toEqual(['RUN', 'COPY']);
    expect(() => parseOnbuildTriggers(['FROM x'], 'base ONBUILD')).toThrow(/isn't allowed as an ONBUILD trigger/);
  });
});
