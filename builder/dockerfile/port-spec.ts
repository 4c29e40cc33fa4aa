/**
 * EXPOSE port specs, parsed as BuildKit's dockerfile2llb does (its copy of
 * go-connections' nat.ParsePortSpecs): `[[ip:]hostPort:]port[-end][/proto]`.
 * BuildKit accepts the ip and host-port parts (it validates and drops them)
 * and records only the container ports, one `port/proto` per port of a range.
 */
import { isIP } from 'node:net';

/** A malformed EXPOSE port spec; the message is BuildKit's. */
export class PortSpecError extends Error {
  readonly code = 'DOCKERFILE_ARGUMENTS';
}

// Go's strconv.ParseUint(s, 10, 16): ASCII digits only, no sign, at most 65535.
function parseUint16(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

function parsePortRange(ports: string): [number, number] | undefined {
  if (ports === '') return undefined;
  if (!ports.includes('-')) {
    const p = parseUint16(ports);
    return p === undefined ? undefined : [p, p];
  }
  const parts = ports.split('-');
  if (parts.length !== 2) return undefined;
  const start = parseUint16(parts[0]!);
  const end = parseUint16(parts[1]!);
  if (start === undefined || end === undefined || end < start) return undefined;
  return [start, end];
}

function splitParts(raw: string): [ip: string, hostPort: string, containerPort: string] {
  const parts = raw.split(':');
  const n = parts.length;
  if (n === 1) return ['', '', parts[0]!];
  if (n === 2) return ['', parts[0]!, parts[1]!];
  // More than three parts: the leading ones are an unbracketed IPv6 address.
  return [parts.slice(0, n - 2).join(':'), parts[n - 2]!, parts[n - 1]!];
}

// Go's net.ParseIP: dotted IPv4 or IPv6, no zone.
const isGoIP = (ip: string): boolean => !ip.includes('%') && isIP(ip) !== 0;

/** Parses one EXPOSE spec into the container ports BuildKit records (`80/tcp`, ranges expanded). */
export function parsePortSpec(raw: string): string[] {
  let [ip, hostPort, containerPort] = splitParts(raw);
  const slash = containerPort.indexOf('/');
  const port = slash < 0 ? containerPort : containerPort.slice(0, slash);
  const proto = (slash < 0 ? '' : containerPort.slice(slash + 1)).toLowerCase() || 'tcp';
  if (port === '') throw new PortSpecError(`no port specified: ${containerPort}<empty>`);
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw new PortSpecError(`invalid proto: ${proto}`);
  if (ip.startsWith('[')) {
    // net.SplitHostPort(ip + ":") strips the brackets of an IPv6 address.
    const m = /^\[([^[\]]*)\]$/.exec(ip);
    if (!m) throw new PortSpecError(`invalid IP address ${ip}`);
    ip = m[1]!;
  }
  if (ip !== '' && !isGoIP(ip)) throw new PortSpecError(`invalid IP address: ${ip}`);
  const range = parsePortRange(port);
  if (!range) throw new PortSpecError(`invalid containerPort: ${port}`);
  const [start, end] = range;
  if (hostPort !== '') {
    const host = parsePortRange(hostPort);
    if (!host) throw new PortSpecError(`invalid hostPort: ${hostPort}`);
    // A host range is allowed with a single container port (a range to allocate from).
    if (end - start !== host[1] - host[0] && end !== start) {
      throw new PortSpecError(`invalid ranges specified for container and host Ports: ${port} and ${hostPort}`);
    }
  }
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}
