/** Which network a step really gets, and the slirp4netns process behind the private one. */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SandboxError } from './errors.js';
import type { NetworkMode } from './sandbox.js';

/** What the machine offers for the private network. */
export interface NetworkProbe {
  /** Path of slirp4netns, or undefined when not installed. */
  slirp4netns?: string;
  /** Whether /dev/net/tun can be opened read-write by us. */
  tunUsable: boolean;
}

/** Finds an executable in PATH. */
export function which(name: string, path: string = process.env.PATH ?? '/usr/bin:/bin'): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // try the next directory
    }
  }
  return undefined;
}

/** Probes slirp4netns and /dev/net/tun (from inside rbuild's namespace, where the step's network is made). */
export function probeNetwork(): NetworkProbe {
  let tunUsable = false;
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
    tunUsable = true;
  } catch {
    tunUsable = false;
  }
  const slirp = which('slirp4netns');
  return slirp ? { slirp4netns: slirp, tunUsable } : { tunUsable };
}

/** The network a step gets for the requested mode, with the one-line reason when private falls back to host. */
export function chooseNetwork(requested: NetworkMode, probe: NetworkProbe): { mode: NetworkMode; warning?: string } {
  if (requested !== 'private') return { mode: requested };
  if (!probe.slirp4netns) {
    return { mode: 'host', warning: 'private network unavailable: slirp4netns is not installed (apt-get install slirp4netns); RUN steps use the host network' };
  }
  if (!probe.tunUsable) {
    return {
      mode: 'host',
      warning: 'private network unavailable: /dev/net/tun is not readable and writable by you (distributions ship it 0666: sudo chmod 0666 /dev/net/tun); RUN steps use the host network',
    };
  }
  return { mode: 'private' };
}

/** The resolv.conf a step gets when the spec gives none. */
export function defaultResolvConf(mode: NetworkMode, hostResolv: string = readHostResolvConf()): string {
  // slirp4netns forwards DNS sent to 10.0.2.3 to the host's resolver.
  if (mode === 'private') return 'nameserver 10.0.2.3\n';
  return hostResolv;
}

function readHostResolvConf(): string {
  // Like Docker: with systemd-resolved's stub, use the real upstream list.
  const stub = '/run/systemd/resolve/resolv.conf';
  try {
    const host = readFileSync('/etc/resolv.conf', 'utf8');
    if (/^nameserver\s+127\.0\.0\.53\s*$/m.test(host) && existsSync(stub)) return readFileSync(stub, 'utf8');
    return host;
  } catch {
    return '';
  }
}

/** The /etc/hosts a step gets when the spec gives none. */
export function defaultEtcHosts(hostname: string): string {
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`;
}

/** A running slirp4netns; stop() ends it. */
export interface SlirpHandle {
  stop(): Promise<void>;
}

/**
 * Starts slirp4netns on the network namespace of `pid` and resolves once tap0 is configured.
 * By default the gateway 10.0.2.2 does not lead to the host's loopback (like Docker's bridge, where services
 * bound to the host's 127.0.0.1 are unreachable); `hostLoopback` allows it.
 */
export function startSlirp(slirp: string, pid: number, hostLoopback = false): Promise<SlirpHandle> {
  const child = spawn(
    slirp,
    ['--configure', '--mtu=65520', ...(hostLoopback ? [] : ['--disable-host-loopback']), '--ready-fd=3', '--exit-fd=4', String(pid), 'tap0'],
    // fd 4 stays open on our side: when rbuild dies it closes and slirp4netns exits with it.
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async (): Promise<void> => {
    (child.stdio[4] as NodeJS.WritableStream & { destroy(): void }).destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', (cause) => reject(new SandboxError('ENETWORK', `cannot start ${slirp}`, { cause })));
    child.stdio[3]!.once('data', () => resolve({ stop }));
    child.once('exit', (code) =>
      reject(
        new SandboxError('ENETWORK', `slirp4netns exited with ${code} before the network was ready: ${stderr.trim()}`, {
          syscall: 'slirp4netns',
          hint: 'check /dev/net/tun access and `rbuild info`',
        }),
      ),
    );
  });
}
