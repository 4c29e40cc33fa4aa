/**
 * Starts the real registry (Debian's `docker-registry`, the CNCF distribution
 * registry) for tests: a free loopback port, storage in a temp dir, and no auth,
 * htpasswd Basic auth, or token auth backed by test/support/token-server.ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.js';

/** The registry binary Debian installs. */
export const REGISTRY_BIN = '/usr/bin/docker-registry';

/** Starts the real registry (Debian's docker-registry) for tests. */
export interface TestRegistry {
  /** host:port on loopback. */
  host: string;
  /** Where the registry keeps its blobs. */
  storageDir: string;
  /** The token server, in token mode. */
  token?: TokenServer;
  /** What the registry printed (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Options for startTestRegistry. */
export interface TestRegistryOptions {
  auth?: 'none' | 'basic' | 'token';
  /** username -> password for basic and token modes (default { tester: 'secret-pw' }). */
  users?: Record<string, string>;
  /** Extra token-server options (token mode). */
  tokenOptions?: Omit<TokenServerOptions, 'users'>;
}

/** The default test account. */
export const TEST_USERS = { tester: 'secret-pw' } as const;

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function configYaml(port: number, storage: string, auth: string, id: string): string {
  return `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: rbuild-test-secret
  headers:
    X-Rbuild-Test-Registry: [${id}]
${auth}`;
}

/** Starts a registry and waits until /v2/ answers. */
export async function startTestRegistry(opts: TestRegistryOptions = {}): Promise<TestRegistry> {
  const mode = opts.auth ?? 'none';
  const users = opts.users ?? TEST_USERS;
  const dir = mkdtempSync(join(tmpdir(), 'rbuild-registry-'));
  const storage = join(dir, 'storage');
  let token: TokenServer | undefined;
  let auth = '';
  if (mode === 'basic') {
    const lines = Object.entries(users).map(([u, p]) =>
      execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim(),
    );
    writeFileSync(join(dir, 'htpasswd'), lines.join('\n') + '\n');
    auth = `auth:\n  htpasswd:\n    realm: rbuild-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (mode === 'token') {
    token = await startTokenServer({ ...opts.tokenOptions, users });
    auth = `auth:\n  token:\n    realm: ${token.realm}\n    service: ${token.service}\n    issuer: ${token.issuer}\n    rootcertbundle: ${token.certPath}\n`;
  }

  // The port may be taken between freePort() and the registry's bind; try a few.
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const cfg = join(dir, 'config.yml');
    // A header only this instance sends, so waiting cannot mistake another server on the port for it.
    const id = randomBytes(8).toString('hex');
    writeFileSync(cfg, configYaml(port, storage, auth, id));
    let output = '';
    const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      output = (output + b.toString()).slice(-64 * 1024);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const host = `127.0.0.1:${port}`;
    try {
      await waitForV2(host, child, id, () => output);
    } catch (e) {
      lastErr = e;
      child.kill('SIGKILL');
      await exited;
      continue;
    }
    return {
      host,
      storageDir: storage,
      ...(token && { token }),
      log: () => output,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
        await token?.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  await token?.stop();
  rmSync(dir, { recursive: true, force: true });
  throw lastErr;
}

/** Polls /v2/ until the registry answers (200, or 401 with auth). */
async function waitForV2(host: string, child: ChildProcess, id: string, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`docker-registry exited (${child.exitCode ?? child.signalCode}): ${log()}`);
    }
    try {
      const res = await request(`http://${host}/v2/`);
      await res.body.dump();
      if (res.headers['x-rbuild-test-registry'] !== id) throw new Error(`another server answers on ${host}`);
      if (res.statusCode === 200 || res.statusCode === 401) return;
    } catch (err) {
      if ((err as Error).message.startsWith('another server')) throw err;
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry on ${host} did not answer /v2/: ${log()}`);
}
