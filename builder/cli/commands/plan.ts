/** `rbuild plan`: shows the stage graph a build would run, without building. */
import type { Command } from 'commander';
import { join } from 'node:path';
import { DockerfileError, formatDockerfileError } from '../../dockerfile/errors.js';
import { parseDockerfile } from '../../dockerfile/parser.js';
import { readDockerfile } from '../../dockerfile/load.js';
import { planToJSON, planToText } from '../../dockerfile/plan-format.js';
import { parsePlatform, planBuild, toStages } from '../../dockerfile/stages.js';

/** The build flags the plan needs (docker build's names). */
export interface PlanCommandOptions {
  /** Build context directory; default `.`. */
  context?: string;
  /** Dockerfile path; default `<context>/Dockerfile`. */
  file?: string;
  target?: string;
  /** `KEY=VALUE` or `KEY` (value taken from the environment, as docker does). */
  buildArgs?: readonly string[];
  /** Target platform, e.g. `linux/arm64`; default: the host. */
  platform?: string;
  format?: 'text' | 'json';
  /** Reads the Dockerfile when file is `-` (default: process stdin). */
  readStdin?: () => Promise<string>;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Where plan output goes. */
export interface PlanOutput {
  stdout(s: string): void;
  stderr(s: string): void;
}

/** Parses `--build-arg` values into a map (`KEY` alone reads the environment; unset means skipped). */
export function parseBuildArgs(list: readonly string[], env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of list) {
    const eq = a.indexOf('=');
    if (eq < 0) {
      const v = env[a];
      if (v !== undefined) out.set(a, v);
    } else out.set(a.slice(0, eq), a.slice(eq + 1));
  }
  return out;
}

/**
 * Reads, parses and plans; writes the plan (text or JSON) to stdout and any
 * error (located, with caret and hint) to stderr. Returns the exit status.
 * `rbuild build --dry-run` calls this too.
 */
export async function runPlan(opts: PlanCommandOptions, out: PlanOutput): Promise<number> {
  const context = opts.context ?? '.';
  const file = opts.file ?? join(context, 'Dockerfile');
  let text: string | undefined;
  try {
    text = file === '-' ? await (opts.readStdin ?? readStdin)() : await readDockerfile(file);
    const ast = parseDockerfile(text, { file: file === '-' ? 'Dockerfile' : file });
    const plan = planBuild(toStages(ast), {
      ...(opts.target ? { target: opts.target } : {}),
      buildArgs: parseBuildArgs(opts.buildArgs ?? []),
      ...(opts.platform ? { platform: parsePlatform(opts.platform) } : {}),
    });
    if (opts.format === 'json') out.stdout(JSON.stringify(planToJSON(plan), null, 2) + '\n');
    else {
      out.stdout(planToText(plan));
      for (const w of ast.warnings) out.stderr(`warning: ${file}:${w.line}: ${w.message}\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof DockerfileError) {
      out.stderr(formatDockerfileError(err, err.file === file || file === '-' ? text : undefined) + '\n');
      return 1;
    }
    throw err;
  }
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Adds `plan [context]` to the program. */
export function register(program: Command): void {
  program
    .command('plan')
    .description('Show the stages a build would run, their order, dependencies and parallel levels')
    .argument('[context]', 'build context directory', '.')
    .option('-f, --file <path>', 'the Dockerfile (default: <context>/Dockerfile; - for stdin)')
    .option('--target <stage>', 'build this stage and what it needs')
    .option('--build-arg <KEY=VALUE>', 'set a build-time variable (repeatable)', collect, [])
    .option('--platform <os/arch>', 'target platform (default: this machine)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (context: string, o: { file?: string; target?: string; buildArg: string[]; platform?: string; format: string }) => {
      if (o.format !== 'text' && o.format !== 'json') {
        process.stderr.write(`unknown --format ${o.format}: use text or json\n`);
        process.exitCode = 2;
        return;
      }
      process.exitCode = await runPlan(
        {
          context,
          ...(o.file ? { file: o.file } : {}),
          ...(o.target ? { target: o.target } : {}),
          buildArgs: o.buildArg,
          ...(o.platform ? { platform: o.platform } : {}),
          format: o.format,
        },
        { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) },
      );
    });
}
