#!/usr/bin/env node
/** rbuild's command line entry point. */
import { Command } from 'commander';
import { register as registerUnshare } from './commands/unshare.js';
import { register as registerDebugRun } from './commands/debug-run.js';
import { register as registerInfo } from './commands/info.js';

const program = new Command();
program.name('rbuild').description('Rootless, daemonless OCI image builder').version('0.1.0');
registerUnshare(program);
registerDebugRun(program);
registerInfo(program);
await program.parseAsync(process.argv);
