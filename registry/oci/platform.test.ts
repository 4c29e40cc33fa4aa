import { describe, expect, it } from 'vitest';
import type { Descriptor } from './types.js';
import { formatPlatform, hostPlatform, parsePlatform, PlatformError, selectManifest } from './platform.js';

const d = (architecture: string, variant?: string, os = 'linux'): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${(architecture + (variant ?? '')).padEnd(64, '0').replace(/[^a-f0-9]/g, 'a')}`,
  size: 1,
  platform: { os, architecture, ...(variant && { variant }) },
});

describe('platform', () => {
  it('parses and formats', () => {
    expect(parsePlatform('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(() => parsePlatform('linux')).toThrow(PlatformError);
    expect(() => parsePlatform('linux/arm/v7/x')).toThrow(PlatformError);
    expect(parsePlatform('aarch64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(formatPlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe('linux/arm64/v8');
    expect(hostPlatform().os).toBe('linux');
  });
  it('selects from an index, treating arm64 as arm64/v8 and skipping attestations', () => {
    const list = [d('unknown', undefined, 'unknown'), d('amd64'), d('arm', 'v6'), d('arm', 'v7'), d('arm64', 'v8')];
    expect(selectManifest(list, { os: 'linux', architecture: 'amd64' })).toBe(list[1]);
    expect(selectManifest(list, { os: 'linux', architecture: 'arm64' })).toBe(list[4]);
    expect(selectManifest(list, { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(list[3]);
    expect(selectManifest(list, { os: 'linux', architecture: 'arm', variant: 'v5' })).toBeUndefined();
    expect(selectManifest(list, { os: 'windows', architecture: 'amd64' })).toBeUndefined();
    const att = { ...d('amd64'), annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } };
    expect(selectManifest([att], { os: 'linux', architecture: 'amd64' })).toBeUndefined();
  });
});
