/** `rbuild debug run`: a hidden maintainer command that runs one step through HelperSandbox on a directory. */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { HelperSandbox } from '../../sandbox/helper-sandbox.js';
import { resolveUserInRoot } from '../../sandbox/passwd.js';
import type { NetworkMode } from '../../sandbox/sandbox.js';
import { enterBuildNamespace, formatError } from './build-namespace.js';

interface DebugRunOptions {
  rootfs: string;
  user: string;
  workdir: string;
  network: NetworkMode;
  env: string[];
  hostname: string;
  hostLoopback: boolean;
}

/** Finds or creates the hidden `debug` command group (other maintainer commands share it). */
export function debugCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'debug') ?? program.command('debug', { hidden: true }).description('maintainer tools');
}

/** Registers `rbuild debug run --rootfs DIR [--user U] [--workdir W] [--network M] [--env K=V]... -- CMD...`. */
export function register(program: Command): void {
  debugCommand(program)
    .command('run')
    .description('run one step in the sandbox on a root directory (no overlay)')
    .requiredOption('--rootfs <dir>', 'root file system directory')
    .option('--user <user>', 'USER: name|uid[:group|gid]', '')
    .option('--workdir <dir>', 'working directory inside the root', '/')
    .addOption(new Option('--network <mode>', 'network mode').choices(['host', 'none', 'private']).default('private'))
    .option('--env <KEY=value>', 'environment variable (repeatable; exactly these)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--hostname <name>', 'host name', 'rbuild')
    .option('--host-loopback', 'private network: 10.0.2.2 reaches the host loopback', false)
    .argument('<command...>', 'command and arguments')
    .action(async (command: string[], opts: DebugRunOptions) => {
      if (!(await enterBuildNamespace())) return;
      const rootfs = opts.rootfs.startsWith('/') ? opts.rootfs : join(process.cwd(), opts.rootfs);
      let user;
      try {
        user = await resolveUserInRoot(rootfs, opts.user);
      } catch (err) {
        process.stderr.write(`${formatError(err)}\n`);
        process.exitCode = 125;
        return;
      }
      const tmp = join(tmpdir(), `rbuild-debug-${process.pid}`);
      mkdirSync(tmp, { recursive: true });
      const sandbox = new HelperSandbox({ tmpDir: tmp, hostLoopback: opts.hostLoopback, onWarning: (m) => process.stderr.write(`warning: ${m}\n`) });
      const ac = new AbortController();
      const onSignal = (): void => ac.abort(new Error('interrupted'));
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
      try {
        const res = await sandbox.run(
          {
            rootfs,
            args: command,
            env: opts.env,
            cwd: opts.workdir,
            uid: user.uid,
            gid: user.gid,
            additionalGids: user.additionalGids,
            hostname: opts.hostname,
            network: opts.network,
            mounts: [],
          },
          { stdout: (b) => process.stdout.write(b), stderr: (b) => process.stderr.write(b) },
          ac.signal,
        );
        process.exitCode = res.exitCode;
      } catch (err) {
        if (ac.signal.aborted) {
          process.exitCode = 130;
          return;
        }
        process.stderr.write(`${formatError(err)}\n`);
        process.exitCode = 125;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('SIGHUP', onSignal);
        rmSync(tmp, { recursive: true, force: true });
      }
    });
}
