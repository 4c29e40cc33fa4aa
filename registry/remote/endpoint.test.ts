import { describe, expect, it } from 'vitest';
import { hostOnly, isLoopback, registryBaseUrl } from './endpoint.js';

describe('endpoint', () => {
  it('knows loopback hosts', () => {
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', 'a.localhost']) {
      expect(isLoopback(h), h).toBe(true);
    }
    for (const h of ['example.com', '10.0.0.1:5000', '128.0.0.1', 'localhost.example.com', '[::2]:5000']) {
      expect(isLoopback(h), h).toBe(false);
    }
  });
  it('strips ports and brackets', () => {
    expect(hostOnly('[::1]:5000')).toBe('::1');
    expect(hostOnly('h:1')).toBe('h');
    expect(hostOnly('h')).toBe('h');
  });
  it('chooses the scheme and Docker Hub API host', () => {
    expect(registryBaseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryBaseUrl('ghcr.io')).toBe('https://ghcr.io');
    expect(registryBaseUrl('docker.io')).toBe('https://registry-1.docker.io');
    expect(registryBaseUrl('reg.lan:5000', ['reg.lan:5000'])).toBe('http://reg.lan:5000');
    expect(registryBaseUrl('reg.lan:5000', ['reg.lan'])).toBe('http://reg.lan:5000');
  });
});
