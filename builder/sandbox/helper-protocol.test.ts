import { describe, expect, it } from 'vitest';
import { encodeRunSpec, helperErrorFromStatus, parseStatusLine, validateRunSpec } from './helper-protocol.js';
import type { RunSpec } from './sandbox.js';

const spec: RunSpec = {
  rootfs: '/r',
  args: ['sh', '-c', 'echo a=b'],
  env: ['PATH=/bin', 'A=1'],
  cwd: '/w',
  uid: 1000,
  gid: 1000,
  additionalGids: [1000, 20],
  hostname: 'box',
  network: 'none',
  mounts: [
    { type: 'bind', source: '/src', target: '/dst', readonly: true },
    { type: 'tmpfs', target: '/t', sizeBytes: 1024 },
  ],
};

describe('helper protocol', () => {
  it('encodes NUL-terminated key=value records, version first', () => {
    const recs = encodeRunSpec(spec, 'none', { hosts: '/h', resolv: '/rc' }).toString().split('\0');
    expect(recs.pop()).toBe('');
    expect(recs).toEqual([
      'version=1', 'rootfs=/r', 'arg=sh', 'arg=-c', 'arg=echo a=b', 'env=PATH=/bin', 'env=A=1', 'cwd=/w', 'uid=1000', 'gid=1000',
      'group=1000', 'group=20', 'hostname=box', 'network=none', 'hosts-file=/h', 'resolv-file=/rc',
      'mount=bind-ro', 'mount.source=/src', 'mount.target=/dst', 'mount=tmpfs', 'mount.size=1024', 'mount.target=/t',
    ]);
  });

  it('rejects unknown keys and unsafe values', () => {
    expect(() => validateRunSpec(spec)).not.toThrow();
    expect(() => validateRunSpec({ ...spec, extra: 1 } as unknown as RunSpec)).toThrow(/unknown key extra/);
    expect(() => validateRunSpec({ ...spec, args: [] })).toThrow(/args/);
    expect(() => validateRunSpec({ ...spec, args: ['a\0b'] })).toThrow(/NUL/);
    expect(() => validateRunSpec({ ...spec, rootfs: 'rel' })).toThrow(/absolute/);
    expect(() => validateRunSpec({ ...spec, env: ['NOEQUALS'] })).toThrow(/KEY=value/);
    expect(() => validateRunSpec({ ...spec, uid: -1 })).toThrow(/uid/);
    expect(() => validateRunSpec({ ...spec, hostname: 'bad name' })).toThrow(/hostname/);
    expect(() => validateRunSpec({ ...spec, network: 'bridge' as never })).toThrow(/network/);
  });

  it('parses status lines into events and errors into SandboxError', () => {
    expect(parseStatusLine('pid\t42')).toEqual({ type: 'pid', pid: 42 });
    expect(parseStatusLine('exit\t3')).toEqual({ type: 'exit', code: 3 });
    expect(parseStatusLine('signal\t9')).toEqual({ type: 'signal', signal: 9 });
    expect(parseStatusLine('future\tthing')).toBeUndefined();
    const ev = parseStatusLine('error\tpivot_root\tEPERM\tthe root must be a mount point');
    expect(ev).toEqual({ type: 'error', syscall: 'pivot_root', errno: 'EPERM', hint: 'the root must be a mount point' });
    const err = helperErrorFromStatus(ev as Extract<typeof ev, { type: 'error' }>);
    expect(err).toMatchObject({ code: 'EHELPER', syscall: 'pivot_root', errno: 'EPERM' });
    expect(err.message).toBe('running the step failed: pivot_root: EPERM: the root must be a mount point');
    expect(parseStatusLine('error\tspec\t-\tbad')).toEqual({ type: 'error', syscall: 'spec', hint: 'bad' });
  });
});
