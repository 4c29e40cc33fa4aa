#!/usr/bin/env node
/** rbuild's command line entry point. */
import { Command } from 'commander';
import { register as registerImages } from './commands/images.js';
import { register as registerInspect } from './commands/inspect.js';
import { register as registerLoad } from './commands/load.js';
import { register as registerPrune } from './commands/prune.js';
import { register as registerRmi } from './commands/rmi.js';
import { register as registerSave } from './commands/save.js';
import { register as registerTag } from './commands/tag.js';

const program = new Command();
program.name('rbuild').description('Rootless, daemonless OCI image builder').version('0.1.0');
registerImages(program);
registerInspect(program);
registerTag(program);
registerRmi(program);
registerPrune(program);
registerSave(program);
registerLoad(program);
await program.parseAsync(process.argv);
