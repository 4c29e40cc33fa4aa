import { describe, expect, it } from 'vitest';
import { parseSecretFlags, parseSshFlags } from './secret-flags.js';

describe('--secret and --ssh', () => {
  it('parses file, env and bare ids', () => {
    const m = parseSecretFlags(['id=a,src=tok.txt', 'id=b,env=TOKEN', 'id=C', 'id=d,type=env,src=X'], '/ctx');
    expect(m.get('a')).toEqual({ file: '/ctx/tok.txt' });
    expect(m.get('b')).toEqual({ env: 'TOKEN' });
    expect(m.get('C')).toEqual({ env: 'C' });
    expect(m.get('d')).toEqual({ env: 'X' });
  });
  it('rejects malformed values', () => {
    expect(() => parseSecretFlags(['src=x'])).toThrow(/no id/);
    expect(() => parseSecretFlags(['id=a,bogus=1'])).toThrow(/unknown key/);
    expect(() => parseSecretFlags(['id'])).toThrow(/invalid/);
  });
  it('forwards SSH_AUTH_SOCK for default and takes explicit sockets', () => {
    expect(parseSshFlags(['default'], { SSH_AUTH_SOCK: '/tmp/agent.sock' })).toEqual(new Map([['default', '/tmp/agent.sock']]));
    expect(parseSshFlags(['gh=/s.sock'], {})).toEqual(new Map([['gh', '/s.sock']]));
    expect(() => parseSshFlags(['default'], {})).toThrow(/SSH_AUTH_SOCK/);
  });
});
