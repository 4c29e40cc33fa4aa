import { describe, expect, it } from 'vitest';
import { resolveUser, UserResolveError } from './passwd.js';

const passwd = [
  'root:x:0:0:root:/root:/bin/sh',
  'app:x:1000:1000:app:/home/app:/bin/sh',
  '_apt:x:42:65534::/nonexistent:/usr/sbin/nologin',
  'broken line',
  '',
].join('\n');
const group = ['root:x:0:', 'wheel:x:10:root', 'app:x:1000:', 'extra:x:2000:app', 'more:x:3000:other,app', 'nogroup:x:65534:'].join('\n');

describe('resolveUser (runc/containerd rules)', () => {
  const table: Array<[string, { uid: number; gid: number; additionalGids: number[]; home: string }]> = [
    ['', { uid: 0, gid: 0, additionalGids: [0, 10], home: '/root' }],
    ['root', { uid: 0, gid: 0, additionalGids: [0, 10], home: '/root' }],
    ['app', { uid: 1000, gid: 1000, additionalGids: [1000, 2000, 3000], home: '/home/app' }],
    ['1000', { uid: 1000, gid: 1000, additionalGids: [1000, 2000, 3000], home: '/home/app' }],
    ['app:extra', { uid: 1000, gid: 2000, additionalGids: [2000], home: '/home/app' }],
    ['app:5', { uid: 1000, gid: 5, additionalGids: [5], home: '/home/app' }],
    ['4242', { uid: 4242, gid: 0, additionalGids: [0], home: '/' }],
    ['4242:4343', { uid: 4242, gid: 4343, additionalGids: [4343], home: '/' }],
    ['_apt', { uid: 42, gid: 65534, additionalGids: [65534], home: '/nonexistent' }],
  ];
  for (const [user, want] of table) {
    it(`USER ${JSON.stringify(user)}`, () => {
      expect(resolveUser(user, passwd, group)).toMatchObject(want);
    });
  }

  it('fails on unknown names with runc\'s message', () => {
    expect(() => resolveUser('ghost', passwd, group)).toThrow('unable to find user ghost: no matching entries in passwd file');
    expect(() => resolveUser('app:ghosts', passwd, group)).toThrow('unable to find group ghosts: no matching entries in group file');
    expect(() => resolveUser('ghost', '', '')).toThrow(UserResolveError);
  });

  it('rejects malformed and out-of-range ids', () => {
    expect(() => resolveUser(':1', passwd, group)).toThrow(/invalid USER/);
    expect(() => resolveUser('99999999999', passwd, group)).toThrow(/out of range/);
  });

  it('works without passwd and group files for numeric ids', () => {
    expect(resolveUser('7:8', '', '')).toEqual({ uid: 7, gid: 8, additionalGids: [8], home: '/' });
  });
});
