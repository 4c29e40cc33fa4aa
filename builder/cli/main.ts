#!/usr/bin/env node
/** rbuild's command line entry point: commands, then one clear line per error. */
import { Command } from 'commander';
import { register as registerUnshare } from './commands/unshare.js';
import { register as registerDebugRun } from './commands/debug-run.js';
import { register as registerDebugAst } from './commands/debug-ast.js';
import { register as registerPlan } from './commands/plan.js';
import { register as registerBuild } from './commands/build.js';
import { ensureBuildNamespace, currentNamespace, mappingWarning } from '../sandbox/userns.js';
import { exitCodeFor, formatError } from './errors.js';

const program = new Command();
program.name('rbuild').description('Rootless, daemonless OCI image builder').version('0.1.0');
registerBuild(program, {
  inNamespace: () => currentNamespace() !== undefined,
  async enterNamespace() {
    const r = await ensureBuildNamespace();
    if (r.kind === 'exited') process.exit(r.code);
  },
});
registerPlan(program);
registerUnshare(program);
registerDebugAst(program);
registerDebugRun(program);

const ns = currentNamespace();
const warning = ns ? mappingWarning(ns) : undefined;
if (warning) process.stderr.write(`${warning}\n`);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`${formatError(err, process.argv.includes('--debug'))}\n`);
  process.exitCode = exitCodeFor(err);
}
