/**
 * The comparison tools: checked, installed from Debian's packages when
 * missing and running as root, and their versions recorded with the results.
 */
import { execFileSync } from 'node:child_process';

/** A command the bench needs and the Debian package that provides it. */
export interface Peer {
  command: string;
  pkg: string;
  /** argv printing the version. */
  version: string[];
}

/** Every tool the bench runs besides rbuild. */
export const PEERS: Peer[] = [
  { command: 'buildah', pkg: 'buildah', version: ['buildah', '--version'] },
  { command: 'skopeo', pkg: 'skopeo', version: ['skopeo', '--version'] },
  { command: 'runc', pkg: 'runc', version: ['runc', '--version'] },
  { command: 'pigz', pkg: 'pigz', version: ['pigz', '--version'] },
  { command: 'gzip', pkg: 'gzip', version: ['gzip', '--version'] },
  { command: 'tar', pkg: 'tar', version: ['tar', '--version'] },
  { command: 'docker-registry', pkg: 'docker-registry', version: ['docker-registry', '--version'] },
  { command: 'setpriv', pkg: 'util-linux', version: ['setpriv', '--version'] },
  { command: 'newuidmap', pkg: 'uidmap', version: ['dpkg-query', '-W', '-f=${Version}', 'uidmap'] },
  { command: '/usr/bin/time', pkg: 'time', version: ['dpkg-query', '-W', '-f=${Version}', 'time'] },
];

/** A peer is missing and could not be installed. */
export class PeerMissingError extends Error {
  code = 'EPEERMISSING';
  constructor(message: string) {
    super(message);
    this.name = 'PeerMissingError';
  }
}

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Peers whose command is not on PATH. */
export function missingPeers(peers: Peer[] = PEERS): Peer[] {
  return peers.filter((p) => !has(p.command));
}

/**
 * Makes sure every peer is there: installs the missing ones with apt-get when
 * allowed and root, else throws with the packages to install.
 */
export function ensurePeers(opts: { install: boolean; log: (line: string) => void }): void {
  let missing = missingPeers();
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((p) => p.pkg))];
  if (opts.install && process.getuid?.() === 0) {
    opts.log(`installing ${pkgs.join(' ')} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'ignore', env });
    missing = missingPeers();
  }
  // GNU time only gives peak RSS: the bench goes on without it.
  missing = missing.filter((p) => p.pkg !== 'time');
  if (missing.length) throw new PeerMissingError(`missing ${missing.map((p) => p.command).join(', ')}: apt-get install ${pkgs.join(' ')}`);
}

/** The first version line of each peer that is installed. */
export function peerVersions(peers: Peer[] = PEERS): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of peers) {
    try {
      const text = execFileSync(p.version[0]!, p.version.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      out[p.command.replace('/usr/bin/', '')] = text.trim().split('\n')[0]!.trim();
    } catch {
      // not installed or no version flag
    }
  }
  return out;
}
