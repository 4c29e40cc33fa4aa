import { describe, expect, it } from 'vitest';
import { chooseIsolation, type IsolationFacts } from './isolation.js';
import { parseFeatures } from './native-helper.js';

const denied = { ok: false, errno: 'EPERM' };
const allowed = { ok: true };
const facts = (f: Partial<IsolationFacts>): IsolationFacts => ({ uid: 0, inNamespace: false, chrootSupported: true, userns: allowed, mountns: allowed, ...f });

describe('chooseIsolation', () => {
  it('auto: rootless wherever rbuild can make its namespace, as root or not', () => {
    expect(chooseIsolation('auto', facts({})).mode).toBe('rootless');
    expect(chooseIsolation('auto', facts({ uid: 1000 })).reason).toMatch(/^rootless: user namespace/);
    expect(chooseIsolation('auto', facts({ inNamespace: true, mountns: denied })).mode).toBe('rootless');
    // An older helper that does not report the probes: assume the namespace works, as before.
    expect(chooseIsolation('auto', { uid: 1000, inNamespace: false, chrootSupported: false }).mode).toBe('rootless');
  });

  it('auto: chroot for root in a container that forbids namespaces and mounts, saying why in one line', () => {
    const c = chooseIsolation('auto', facts({ userns: denied, mountns: denied }));
    expect(c.mode).toBe('chroot');
    expect(c.reason).toBe(
      'chroot: namespaces and mounts are not allowed here (unshare(CLONE_NEWUSER): EPERM, unshare(CLONE_NEWNS) + mount: EPERM), ' +
        'so each RUN runs chroot(2)ed into a copy of its snapshot with reduced capabilities',
    );
    expect(c.reason).not.toContain('\n');
  });

  it('auto: no mode for a normal user without namespaces, nor with a helper lacking chroot', () => {
    expect(() => chooseIsolation('auto', facts({ uid: 1000, userns: denied, mountns: denied }))).toThrow(
      expect.objectContaining({ code: 'EISOLATION', message: expect.stringMatching(/not root \(uid 1000\)/) }),
    );
    expect(() => chooseIsolation('auto', facts({ mountns: denied, chrootSupported: false }))).toThrow(expect.objectContaining({ code: 'EISOLATION' }));
  });

  it('explicit modes: rootless only where possible, chroot only as root', () => {
    expect(() => chooseIsolation('rootless', facts({ mountns: denied }))).toThrow(
      expect.objectContaining({ code: 'EISOLATION', hint: expect.stringMatching(/--isolation chroot/) }),
    );
    expect(chooseIsolation('rootless', facts({})).mode).toBe('rootless');
    expect(chooseIsolation('chroot', facts({})).mode).toBe('chroot');
    expect(() => chooseIsolation('chroot', facts({ uid: 1000 }))).toThrow(expect.objectContaining({ code: 'EISOLATION' }));
  });
});

describe('parseFeatures', () => {
  it('reads the probes and ignores lines it does not know', () => {
    expect(parseFeatures('seccomp 1\nchroot 1\nuserns 0 EPERM\nmountns 1\nfuture 3\n')).toEqual({
      seccomp: true,
      chroot: true,
      userns: { ok: false, errno: 'EPERM' },
      mountns: { ok: true },
    });
    expect(parseFeatures('seccomp 0\n')).toEqual({ seccomp: false, chroot: false });
  });
});
