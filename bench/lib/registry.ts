/**
 * A throwaway real registry for a benchmark run: Debian's `docker-registry serve`
 * on a free loopback port, storing into a temp directory removed on stop.
 * (test/support/registry-server.ts does the same for tests; the bench keeps its
 * own small copy so that it does not depend on test code's lifecycle.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A running registry. */
export interface BenchRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  stop(): Promise<void>;
}

/** The registry did not start. */
export class RegistryStartError extends Error {
  code = 'EREGISTRY';
  override cause?: unknown;
  constructor(message: string, cause?: unknown) {
    super(message);
    this.name = 'RegistryStartError';
    this.cause = cause;
  }
}

/** A TCP port that was free on loopback a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The registry's config file: filesystem storage, deletes allowed, no auth, quiet logs. */
export function registryConfig(storageDir: string, addr: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${addr}`,
    '',
  ].join('\n');
}

/** Starts `docker-registry serve` on a free loopback port and waits until `/v2/` answers. */
export async function startRegistry(opts: { signal?: AbortSignal; /** Where its storage goes (default: the temp dir). */ parent?: string } = {}): Promise<BenchRegistry> {
  const dir = mkdtempSync(join(opts.parent ?? tmpdir(), 'rbuild-bench-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  writeFileSync(join(dir, 'config.yml'), registryConfig(join(dir, 'storage'), host));
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  let exited = false;
  child.on('exit', () => (exited = true));
  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(3000)]);
      if (!exited) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    opts.signal?.throwIfAborted();
    if (exited) break;
    try {
      const res = await fetch(`http://${host}/v2/`);
      if (res.status === 200) return { host, stop };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  await stop();
  throw new RegistryStartError(`docker-registry did not start on ${host}: ${stderr.trim().split('\n').pop() ?? ''}`);
}
