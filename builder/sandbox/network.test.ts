import { describe, expect, it } from 'vitest';
import { chooseNetwork, defaultEtcHosts, defaultResolvConf } from './network.js';

describe('network choice', () => {
  it('keeps host and none, and private when slirp4netns and /dev/net/tun work', () => {
    expect(chooseNetwork('host', { tunUsable: false })).toEqual({ mode: 'host' });
    expect(chooseNetwork('none', { tunUsable: false })).toEqual({ mode: 'none' });
    expect(chooseNetwork('private', { slirp4netns: '/usr/bin/slirp4netns', tunUsable: true })).toEqual({ mode: 'private' });
  });

  it('falls back to host with one line naming the fix', () => {
    expect(chooseNetwork('private', { tunUsable: true }).warning).toMatch(/slirp4netns is not installed \(apt-get install slirp4netns\)/);
    const tun = chooseNetwork('private', { slirp4netns: '/usr/bin/slirp4netns', tunUsable: false });
    expect(tun.mode).toBe('host');
    expect(tun.warning).toMatch(/chmod 0666 \/dev\/net\/tun/);
  });

  it('gives slirp\'s DNS to the private network and the host\'s otherwise', () => {
    expect(defaultResolvConf('private', 'nameserver 1.1.1.1\n')).toBe('nameserver 10.0.2.3\n');
    expect(defaultResolvConf('host', 'nameserver 1.1.1.1\n')).toBe('nameserver 1.1.1.1\n');
    expect(defaultEtcHosts('box')).toContain('127.0.1.1\tbox\n');
  });
});
