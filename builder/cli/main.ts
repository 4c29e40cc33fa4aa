#!/usr/bin/env node
/** rbuild's command line entry point: commands, then one clear line per error. */
import { Command } from 'commander';
import { register as registerBuild } from './commands/build.js';
import { register as registerPlan } from './commands/plan.js';
import { register as registerImages } from './commands/images.js';
import { register as registerInspect } from './commands/inspect.js';
import { register as registerTag } from './commands/tag.js';
import { register as registerRmi } from './commands/rmi.js';
import { register as registerPrune } from './commands/prune.js';
import { register as registerSave } from './commands/save.js';
import { register as registerLoad } from './commands/load.js';
import { register as registerPull } from './commands/pull.js';
import { register as registerPush } from './commands/push.js';
import { register as registerLogin } from './commands/login.js';
import { register as registerLogout } from './commands/logout.js';
import { register as registerInfo } from './commands/info.js';
import { register as registerUnshare } from './commands/unshare.js';
import { register as registerDebugAst } from './commands/debug-ast.js';
import { register as registerDebugRun } from './commands/debug-run.js';
import { ensureBuildNamespace, currentNamespace, mappingWarning } from '../sandbox/userns.js';
import { exitCodeFor, formatError } from './errors.js';
import { register as registerCheck } from './commands/check.js';

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
registerImages(program);
registerInspect(program);
registerTag(program);
registerRmi(program);
registerPrune(program);
registerSave(program);
registerLoad(program);
registerPull(program);
registerPush(program);
registerLogin(program);
registerLogout(program);
registerInfo(program);
registerUnshare(program);
registerDebugAst(program);
registerDebugRun(program);
registerCheck(program);

const ns = currentNamespace();
const warning = ns ? mappingWarning(ns) : undefined;
if (warning) process.stderr.write(`${warning}\n`);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`${formatError(err, process.argv.includes('--debug'))}\n`);
  process.exitCode = exitCodeFor(err);
}
