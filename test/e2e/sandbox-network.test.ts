import { chmodSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aptMirror } from '../support/base-images.js';
import { TEST_USER, removeTempDirs, tempDir } from '../support/unprivileged.js';
import { extractRoot, step } from './sandbox-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

function listen(host: string): Promise<Server> {
  const server = createServer((sock) => sock.end('hello from the host\n'));
  return new Promise((resolve) => server.listen(0, host, () => resolve(server)));
}

function port(s: Server): number {
  return (s.address() as AddressInfo).port;
}

/** The machine's first non-loopback IPv4 address. */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('no non-loopback IPv4 address');
}

const connect = (host: string, p: number): string => `nc -w 5 ${host} ${p} </dev/null || echo FAILED`;

describe('sandbox networks', () => {
  let root: string;
  let loopback: Server;
  let anyAddr: Server;
  let tunMode = 0;
  const mirrorHost = new URL(aptMirror().mirror).hostname;

  beforeAll(async () => {
    // /dev/net/tun is 0600 on this machine (no udev); distributions ship it 0666. .ci/setup opens it up;
    // make sure here too, and restore what we found.
    tunMode = statSync('/dev/net/tun').mode & 0o777;
    if (tunMode !== 0o666) chmodSync('/dev/net/tun', 0o666);
    root = await extractRoot(TEST_USER);
    loopback = await listen('127.0.0.1');
    anyAddr = await listen('0.0.0.0');
  });
  afterAll(() => {
    loopback?.close();
    anyAddr?.close();
    if (tunMode && tunMode !== 0o666) chmodSync('/dev/net/tun', tunMode);
    rmSync(dirname(root), { recursive: true, force: true });
  });

  it('none: loopback only, no route out', async () => {
    const r = await step(TEST_USER, root, ['sh', '-c', `ip -o link | cut -d: -f2; ip route; ${connect('127.0.0.1', port(loopback))}; ${connect(hostAddress(), port(anyAddr))}`], ['--network', 'none']);
    expect(r.stdout.split('\n')[0]!.trim()).toBe('lo');
    expect(r.stdout).not.toContain('hello');
    expect(r.stderr).toMatch(/Network is unreachable/);
  });

  it('host: reaches a server on the host loopback and resolves names', async () => {
    const r = await step(TEST_USER, root, ['sh', '-c', `${connect('127.0.0.1', port(loopback))}; nslookup ${mirrorHost} >/dev/null && echo RESOLVED`], ['--network', 'host']);
    expect(r.stdout).toBe('hello from the host\nRESOLVED\n');
  });

  it('private: its own loopback, the host through the slirp gateway only for non-loopback services, DNS via 10.0.2.3', async () => {
    const r = await step(
      TEST_USER,
      root,
      [
        'sh',
        '-c',
        `cat /etc/resolv.conf; ip route | grep default; ${connect('127.0.0.1', port(loopback))}; ${connect('10.0.2.2', port(loopback))}; ` +
          `${connect(hostAddress(), port(anyAddr))}; nslookup ${mirrorHost} >/dev/null && echo RESOLVED`,
      ],
      ['--network', 'private'],
    );
    expect(r.stderr).not.toMatch(/^warning/m);
    expect(r.stdout).toBe('nameserver 10.0.2.3\ndefault via 10.0.2.2 dev tap0 \nFAILED\nFAILED\nhello from the host\nRESOLVED\n');
  });

  it('private with --host-loopback: 10.0.2.2 is the host loopback', async () => {
    const r = await step(TEST_USER, root, ['sh', '-c', connect('10.0.2.2', port(loopback))], ['--network', 'private', '--host-loopback']);
    expect(r.stdout).toBe('hello from the host\n');
  });

  it('private falls back to host with one clear line when slirp4netns is missing', async () => {
    // A PATH with the uid-map tools (and setpriv, which runAs uses) but no slirp4netns.
    const bin = tempDir('rbuild-noslirp-');
    chmodSync(bin, 0o755);
    for (const t of ['newuidmap', 'newgidmap', 'setpriv']) symlinkSync(`/usr/bin/${t}`, join(bin, t));
    try {
      const r = await step(TEST_USER, root, ['sh', '-c', connect('127.0.0.1', port(loopback))], ['--network', 'private'], { env: { PATH: bin } });
      expect(r.stdout).toBe('hello from the host\n');
      expect(r.stderr).toBe(
        'warning: private network unavailable: slirp4netns is not installed (apt-get install slirp4netns); RUN steps use the host network\n',
      );
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
