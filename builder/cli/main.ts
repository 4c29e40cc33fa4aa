#!/usr/bin/env node
/** rbuild's command line entry point. */
import { Command } from 'commander';
import { register as registerUnshare } from './commands/unshare.js';
import { register as registerDebugRun } from './commands/debug-run.js';
import { register as registerPull } from './commands/pull.js';
import { register as registerPush } from './commands/push.js';
import { register as registerLogin } from './commands/login.js';
import { register as registerLogout } from './commands/logout.js';

const program = new Command();
program.name('rbuild').description('Rootless, daemonless OCI image builder').version('0.1.0');
registerUnshare(program);
registerDebugRun(program);
registerPull(program);
registerPush(program);
registerLogin(program);
registerLogout(program);
await program.parseAsync(process.argv);
