#!/usr/bin/env node
/** rbuild's command line entry point. */
import { Command } from 'commander';
import { register as registerDebugAst } from './commands/debug-ast.js';
import { register as registerPlan } from './commands/plan.js';

const program = new Command();
program.name('rbuild').description('Rootless, daemonless OCI image builder').version('0.1.0');
registerDebugAst(program);
registerPlan(program);
await program.parseAsync(process.argv);
