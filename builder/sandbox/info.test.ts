import { describe, expect, it } from 'vitest';
import { formatInfo, subidRanges, usernsBlockers } from './info.js';

describe('rbuild info pieces', () => {
  it('reads subuid ranges by name or uid', () => {
    const text = 'alice:100000:65536\n1001:200000:1000\nbob:300000:65536\nbroken\n';
    expect(subidRanges(text, 'alice', 1001)).toEqual([
      { start: 100000, count: 65536 },
      { start: 200000, count: 1000 },
    ]);
    expect(subidRanges(text, 'carol', 5)).toEqual([]);
  });

  it('names each sysctl that blocks user namespaces with its fix', () => {
    expect(usernsBlockers({ maxUserNamespaces: '15000' })).toEqual([]);
    const all = usernsBlockers({ maxUserNamespaces: '0', unprivilegedClone: '0', apparmorRestrict: '1' });
    expect(all.map((b) => b.fix)).toEqual([
      'sudo sysctl -w user.max_user_namespaces=15000',
      'sudo sysctl -w kernel.unprivileged_userns_clone=1',
      expect.stringContaining('sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0'),
    ]);
  });

  it('prints missing pieces with their fix', () => {
    const text = formatInfo({
      kernel: '6.1',
      user: 'u',
      uid: 1000,
      items: [
        { key: 'seccomp', ok: true, value: 'compiled in' },
        { key: 'slirp4netns', ok: false, value: 'not installed', fix: 'sudo apt-get install slirp4netns' },
      ],
    });
    expect(text).toBe(
      'kernel: 6.1\nuser: u (uid 1000)\nok  seccomp      compiled in\nNO  slirp4netns  not installed\n                 fix: sudo apt-get install slirp4netns\n',
    );
  });
});
