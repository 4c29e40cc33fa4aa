import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHelper, helperPath, HELPER_PROTOCOL, packageRoot } from './native-helper.js';

describe('native helper', () => {
  it('finds the built helper in the package and it speaks our protocol', async () => {
    expect(helperPath({})).toBe(join(packageRoot(), 'native/build/Release/rbuild-helper'));
    const info = await checkHelper(helperPath({}));
    expect(info.protocol).toBe(HELPER_PROTOCOL);
    // libseccomp-dev is in .ci/setup's packages, so the profile is compiled in.
    expect(info.seccomp).toBe(true);
  });

  it('refuses a helper that speaks another protocol', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-helper-'));
    const fake = join(dir, 'rbuild-helper');
    writeFileSync(fake, '#!/bin/sh\nif [ "$1" = version ]; then echo "rbuild-helper 999"; else echo "seccomp 0"; fi\n');
    chmodSync(fake, 0o755);
    try {
      await expect(checkHelper(fake)).rejects.toMatchObject({ code: 'EHELPERVERSION' });
      await expect(checkHelper(join(dir, 'missing'))).rejects.toMatchObject({ code: 'EHELPERMISSING' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
