/** Where a registry name is reached: the API host and the scheme. Pure logic. */
import { isIP } from 'node:net';

/** The host that serves Docker Hub's registry API (docker.io is only a name). */
export const DOCKER_HUB_API = 'registry-1.docker.io';

/** The host part of `host[:port]` (brackets of an IPv6 literal removed). */
export function hostOnly(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const i = hostPort.lastIndexOf(':');
  return i >= 0 && !hostPort.slice(0, i).includes(':') ? hostPort.slice(0, i) : hostPort;
}

/** Whether a host[:port] is a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopback(hostPort: string): boolean {
  const h = hostOnly(hostPort).toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/** Base URL for a registry: plain HTTP for loopback and listed insecure hosts, HTTPS otherwise. */
export function registryBaseUrl(registry: string, insecure: readonly string[] = []): string {
  const host = registry === 'docker.io' ? DOCKER_HUB_API : registry;
  const plain = isLoopback(host) || insecure.includes(registry) || insecure.includes(hostOnly(registry));
  return `${plain ? 'http' : 'https'}://${host}`;
}
