import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { busyboxRootfsTar } from './base-images.js';

describe('base images', () => {
  it('makes a busybox root file system tarball with applet links', () => {
    const tar = busyboxRootfsTar();
    const list = execFileSync('tar', ['-tvf', tar], { encoding: 'utf8' });
    expect(list).toMatch(/\.\/bin\/busybox$/m);
    expect(list).toMatch(/\.\/bin\/sh -> bin\/busybox|\.\/bin\/sh -> \.\.\/bin\/busybox/m);
    expect(list).toMatch(/\.\/etc\/passwd$/m);
  });
});
