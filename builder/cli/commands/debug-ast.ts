/** `rbuild debug ast`: prints BuildKit's parse-tree dump of a Dockerfile. */
import type { Command } from 'commander';
import { DockerfileError, formatDockerfileError } from '../../dockerfile/errors.js';
import { readDockerfile } from '../../dockerfile/load.js';
import { dumpAst, parseDockerfile } from '../../dockerfile/parser.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Dumps the Dockerfile at `path` (`-` for stdin); returns the exit status. */
export async function runDebugAst(path: string, out: { stdout(s: string): void; stderr(s: string): void }): Promise<number> {
  let text: string | undefined;
  try {
    text = path === '-' ? await readStdin() : await readDockerfile(path);
    const ast = parseDockerfile(text, { file: path === '-' ? 'Dockerfile' : path });
    out.stdout(dumpAst(ast));
    for (const w of ast.warnings) out.stderr(`warning: ${path}:${w.line}: ${w.message}\n`);
    return 0;
  } catch (err) {
    if (err instanceof DockerfileError) {
      out.stderr(formatDockerfileError(err, text) + '\n');
      return 1;
    }
    throw err;
  }
}

/** Adds `debug ast` to the program (creating `debug` if no one has yet). */
export function register(program: Command): void {
  const debug = program.commands.find((c) => c.name() === 'debug') ?? program.command('debug').description('Look inside rbuild');
  debug
    .command('ast')
    .description("Print how a Dockerfile was read, in BuildKit's parser dump format")
    .option('-f, --file <path>', 'the Dockerfile (- for stdin)', 'Dockerfile')
    .argument('[path]', 'the Dockerfile (same as -f)')
    .action(async (path: string | undefined, opts: { file: string }) => {
      process.exitCode = await runDebugAst(path ?? opts.file, {
        stdout: (s) => process.stdout.write(s),
        stderr: (s) => process.stderr.write(s),
      });
    });
}
