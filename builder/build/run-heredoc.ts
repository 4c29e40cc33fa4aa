/**
 * RUN with heredocs, as BuildKit's dispatchRun does it: `RUN <<EOF` alone runs
 * the heredoc's content through the shell (a "fake" heredoc that works with
 * shells without heredoc support); with a `#!` first line the content becomes
 * an executable file mounted at /dev/pipes/<name> and that file is run; any
 * other form (`RUN <<EOF bash`, several heredocs, `cat <<A <<B`) is rebuilt
 * into one script that the shell itself reads, heredocs included.
 */
import type { InlineFile } from '../dockerfile/instructions.js';
import { chompHeredocContent, parseHeredoc } from '../dockerfile/parser-heredoc.js';
import { BuildError } from './errors.js';

/** Where a shebang heredoc is mounted in the step. */
export const PIPES_DIR = '/dev/pipes';

/** The command line to shell-wrap, and the script file to mount at PIPES_DIR/<name> if any. */
export interface RunHeredocPlan {
  cmd: string[];
  script?: { name: string; data: string };
}

/** Plans a RUN's command line from its heredoc files; unchanged when there are none. */
export function planRunHeredoc(cmd: string[], prependShell: boolean, files: InlineFile[]): RunHeredocPlan {
  if (files.length === 0) return { cmd };
  if (cmd.length !== 1 || !prependShell) throw new BuildError('DOCKERFILE_HEREDOC', 'parsing produced an invalid run command (heredocs need the shell form)');
  const first = files[0]!;
  if (parseHeredoc(cmd[0]!.trim())) {
    const data = first.chomp ? chompHeredocContent(first.data) : first.data;
    if (data.startsWith('#!')) return { cmd: [`${PIPES_DIR}/${first.name}`], script: { name: first.name, data } };
    return { cmd: [data] };
  }
  let full = cmd[0]!;
  for (const f of files) full += `\n${f.data}${f.name}`;
  return { cmd: [full] };
}
