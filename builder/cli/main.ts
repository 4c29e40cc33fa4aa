#!/usr/bin/env node
/**
 * rbuild's command line entry point. Only the module of the command being run
 * is loaded (loading all of them costs more than a cached rebuild itself);
 * `--help` and unknown commands load them all. Errors: one clear line.
 */
import { Command } from 'commander';
import { currentNamespace, ensureBuildNamespace, mappingWarning } from '../sandbox/userns.js';
import { exitCodeFor, formatError } from './errors.js';
import { exitWhenIdle } from './exit-when-idle.js';
import { useBaselineWasmCompiler } from './wasm-tiering.js';


type Loader = (program: Command) => Promise<void>;

const simple = (load: () => Promise<{ register(program: Command): void }>): Loader => async (program) => (await load()).register(program);

/** Command name -> how to register it, in help order. */
const commands: Record<string, Loader> = {
  build: async (program) =>
    (await import('./commands/build.js')).register(program, {
      inNamespace: () => currentNamespace() !== undefined,
      async enterNamespace() {
        const r = await ensureBuildNamespace();
        if (r.kind === 'exited') process.exit(r.code);
      },
    }),
  plan: simple(() => import('./commands/plan.js')),
  images: simple(() => import('./commands/images.js')),
  inspect: simple(() => import('./commands/inspect.js')),
  tag: simple(() => import('./commands/tag.js')),
  rmi: simple(() => import('./commands/rmi.js')),
  prune: async (program) =>
    (await import('./commands/prune.js')).register(program, {
      extraRoots: async (root) => (await import('../build/cache.js')).cacheReferencedBlobs(root),
      extraChains: async (root) => (await import('../build/cache.js')).cacheReferencedChains(root),
      clearCache: async (root) => (await import('../build/cache.js')).clearBuildCache(root),
    }),
  save: simple(() => import('./commands/save.js')),
  load: simple(() => import('./commands/load.js')),
  pull: simple(() => import('./commands/pull.js')),
  push: simple(() => import('./commands/push.js')),
  login: simple(() => import('./commands/login.js')),
  logout: simple(() => import('./commands/logout.js')),
  check: simple(() => import('./commands/check.js')),
  info: simple(() => import('./commands/info.js')),
  unshare: simple(() => import('./commands/unshare.js')),
  debug: async (program) => {
    (await import('./commands/debug-ast.js')).register(program);
    (await import('./commands/debug-run.js')).register(program);
  },
};

/** Commands whose module loads the registry client at once and then talks to a registry. */
const networkCommands = new Set(['pull', 'push', 'login']);

/** The command argv names: the first non-option word, or build (the default command). */
function commandsToLoad(argv: string[]): string[] {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  // `rbuild --version` needs no command at all.
  if (first === undefined && argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) return [];
  if (first === 'help' || argv.length <= 2 || (argv.slice(2).some((a) => a === '-h' || a === '--help') && !first)) return Object.keys(commands);
  if (first && first in commands) return [first];
  if (first === undefined || !(first in commands)) return ['build'];
  return Object.keys(commands);
}

/** Runs one rbuild command line; errors become one line on stderr and the exit code. */
async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program.name('rbuild').description('Rootless, daemonless OCI image builder').version('0.1.0');
  try {
    const toLoad = commandsToLoad(argv);
    // The other namespace commands print this themselves (builder/cli/commands/build-namespace.ts).
    const ns = currentNamespace();
    const warning = ns && toLoad.length === 1 && toLoad[0] === 'build' ? mappingWarning(ns) : undefined;
    if (warning) process.stderr.write(`${warning}\n`);
    for (const name of toLoad) await commands[name]!(program);
    if (toLoad.length === 1 && networkCommands.has(toLoad[0]!)) await useBaselineWasmCompiler();
    await program.parseAsync(toLoad.includes('build') ? (await import('./commands/build.js')).normalizeBuildArgv(argv) : argv);
  } catch (err) {
    process.stderr.write(`${formatError(err, argv.includes('--debug'))}\n`);
    process.exitCode = exitCodeFor(err);
  }
}

// Not a top-level await: the bundle (.ci/bundle.mjs) is CommonJS, which has none.
// Done: exit without Node's last loop turn and heap teardown when nothing is pending (exit-when-idle.ts).
void main(process.argv).then(() => exitWhenIdle());
