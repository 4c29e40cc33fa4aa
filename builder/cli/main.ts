#!/usr/bin/env node
/** rbuild's command line entry point. */
import { Command } from 'commander';

const program = new Command();
program.name('rbuild').description('Rootless, daemonless OCI image builder').version('0.1.0');
await program.parseAsync(process.argv);
