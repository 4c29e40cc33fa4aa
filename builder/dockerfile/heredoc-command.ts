/**
 * How a RUN with heredocs becomes a command, as BuildKit's dispatchRun does:
 * `RUN <<EOF` alone runs the body as the shell script (or, with a `#!` line,
 * as an executable file); other forms pass the heredocs inline to the shell.
 */
import type { CommandLine } from './instructions.js';
import { chompHeredocContent, parseHeredoc } from './parser-heredoc.js';

/** The command to run for a RUN. */
export interface ResolvedCommand {
  /** Argv after SHELL is prepended by the executor when prependShell is true. */
  cmd: string[];
  prependShell: boolean;
  /** A `#!` script BuildKit writes to a file and executes directly (cmd is its path). */
  scriptFile?: { path: string; data: string; mode: number };
}

/** Resolves heredoc scripts; a command without heredocs is returned as is. */
export function resolveHeredocCommand(cl: CommandLine): ResolvedCommand {
  if (cl.files.length === 0) return { cmd: cl.cmd, prependShell: cl.prependShell };
  if (cl.cmd.length !== 1 || !cl.prependShell) throw new Error(`parsing produced an invalid run command: ${JSON.stringify(cl.cmd)}`);
  const only = parseHeredoc(cl.cmd[0]!);
  if (cl.files.length === 1 && only) {
    const f = cl.files[0]!;
    const data = f.chomp ? chompHeredocContent(f.data) : f.data;
    if (data.startsWith('#!')) {
      const path = `/dev/pipes/${f.name}`;
      return { cmd: [path], prependShell: false, scriptFile: { path, data, mode: 0o755 } };
    }
    return { cmd: [data], prependShell: true };
  }
  // Several heredocs or more words: the shell reads the heredocs itself.
  let script = cl.cmd[0]!;
  for (const f of cl.files) script += '\n' + (f.chomp ? chompHeredocContent(f.data) : f.data) + f.name;
  return { cmd: [script], prependShell: true };
}
