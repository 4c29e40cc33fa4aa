import { describe, expect, it } from 'vitest';
import { planRunHeredoc } from './run-heredoc.js';

const file = (name: string, data: string, chomp = false) => ({ name, data, chomp, expand: true });

describe('planRunHeredoc', () => {
  it('leaves commands without heredocs alone', () => {
    expect(planRunHeredoc(['echo hi'], true, [])).toEqual({ cmd: ['echo hi'] });
  });
  it('runs a lone heredoc as the shell script itself', () => {
    expect(planRunHeredoc(['<<EOF'], true, [file('EOF', 'echo a\necho b\n')])).toEqual({ cmd: ['echo a\necho b\n'] });
  });
  it('strips leading tabs for <<-', () => {
    expect(planRunHeredoc(['<<-EOF'], true, [file('EOF', '\techo a\n', true)])).toEqual({ cmd: ['echo a\n'] });
  });
  it('mounts a shebang heredoc as an executable and runs it', () => {
    const p = planRunHeredoc(['<<EOF'], true, [file('EOF', '#!/bin/sh\necho hi\n')]);
    expect(p).toEqual({ cmd: ['/dev/pipes/EOF'], script: { name: 'EOF', data: '#!/bin/sh\necho hi\n' } });
  });
  it('hands other forms to the shell with the heredocs appended', () => {
    expect(planRunHeredoc(['<<EOF bash'], true, [file('EOF', 'echo x\n')])).toEqual({ cmd: ['<<EOF bash\necho x\nEOF'] });
    expect(planRunHeredoc(['cat <<A >/a && cat <<B >/b'], true, [file('A', '1\n'), file('B', '2\n')])).toEqual({
      cmd: ['cat <<A >/a && cat <<B >/b\n1\nA\n2\nB'],
    });
  });
  it('refuses heredocs in the exec form', () => {
    expect(() => planRunHeredoc(['<<EOF', 'x'], false, [file('EOF', '')])).toThrow(/invalid run command/);
  });
});
