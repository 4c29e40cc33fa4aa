import { describe, expect, it } from 'vitest';
import { parsePortSpec, PortSpecError } from './port-spec.js';

// Cases from BuildKit's dockerfile2llb parsePortSpec (go-connections nat.ParsePortSpecs).
describe('parsePortSpec', () => {
  it('records the container port, proto lowercased, tcp by default', () => {
    expect(parsePortSpec('80')).toEqual(['80/tcp']);
    expect(parsePortSpec('53/UDP')).toEqual(['53/udp']);
    expect(parsePortSpec('9/')).toEqual(['9/tcp']);
    expect(parsePortSpec('0080/sctp')).toEqual(['80/sctp']);
    expect(parsePortSpec('0')).toEqual(['0/tcp']);
  });
  it('expands ranges', () => {
    expect(parsePortSpec('8000-8002/udp')).toEqual(['8000/udp', '8001/udp', '8002/udp']);
    expect(parsePortSpec('7-7')).toEqual(['7/tcp']);
  });
  it('accepts and drops ip and host-port parts', () => {
    expect(parsePortSpec('8080:80')).toEqual(['80/tcp']);
    expect(parsePortSpec('127.0.0.1:8080:80/udp')).toEqual(['80/udp']);
    expect(parsePortSpec('0.0.0.0::80')).toEqual(['80/tcp']);
    expect(parsePortSpec(':8080:80')).toEqual(['80/tcp']);
    expect(parsePortSpec('[::1]:8080:80')).toEqual(['80/tcp']);
    expect(parsePortSpec('::1:8080:80')).toEqual(['80/tcp']);
    expect(parsePortSpec('8000-8001:80-81')).toEqual(['80/tcp', '81/tcp']);
    // a host range with one container port is a range to allocate from
    expect(parsePortSpec('8000-8010:80')).toEqual(['80/tcp']);
  });
  it('rejects what BuildKit rejects, with its messages', () => {
    const bad: Array<[string, string]> = [
      ['80/xyz', 'invalid proto: xyz'],
      ['/tcp', 'no port specified: /tcp<empty>'],
      ['65536', 'invalid containerPort: 65536'],
      ['+80', 'invalid containerPort: +80'],
      ['90-80', 'invalid containerPort: 90-80'],
      ['1-2-3', 'invalid containerPort: 1-2-3'],
      ['x:80', 'invalid hostPort: x'],
      ['1.2.3:80:80', 'invalid IP address: 1.2.3'],
      ['fe80::1%eth0:80:80', 'invalid IP address: fe80::1%eth0'],
      ['[::1:80:80', 'invalid IP address [::1'],
      ['8000-8001:80-82', 'invalid ranges specified for container and host Ports: 80-82 and 8000-8001'],
    ];
    for (const [spec, msg] of bad) {
      expect(() => parsePortSpec(spec), spec).toThrow(PortSpecError);
      expect(() => parsePortSpec(spec), spec).toThrow(msg);
    }
  });
});
