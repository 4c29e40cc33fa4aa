import { describe, expect, it } from 'vitest';
import { currentNamespace, ensureBuildNamespace, mappingWarning } from './userns.js';

describe('build namespace state', () => {
  it('is read from the variables the helper sets', () => {
    expect(currentNamespace({})).toBeUndefined();
    expect(currentNamespace({ RBUILD_USERNS: '1', RBUILD_USERNS_MAP: 'full', RBUILD_USERNS_OUTER_UID: '1001' })).toEqual({ mode: 'full', outerUid: 1001 });
    expect(
      currentNamespace({ RBUILD_USERNS: '1', RBUILD_USERNS_MAP: 'single', RBUILD_USERNS_OUTER_UID: '1002', RBUILD_USERNS_REASON: 'no-subids' }),
    ).toEqual({ mode: 'single', outerUid: 1002, reason: 'no-subids' });
  });

  it('warns only for a single-id mapping, with the exact fix', () => {
    expect(mappingWarning({ mode: 'full', outerUid: 1 })).toBeUndefined();
    expect(mappingWarning({ mode: 'root', outerUid: 0 })).toBeUndefined();
    expect(mappingWarning({ mode: 'single', outerUid: 1, reason: 'no-subids' }, 'alice')).toMatch(
      /^warning: no subuid\/subgid range for alice: .*Fix: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice$/,
    );
    expect(mappingWarning({ mode: 'single', outerUid: 1, reason: 'newuidmap-failed', detail: 'newuidmap failed: nope' }, 'bob')).toContain(
      'newuidmap failed (newuidmap failed: nope)',
    );
  });

  it('continues without re-executing when already inside', async () => {
    await expect(ensureBuildNamespace({ env: { RBUILD_USERNS: '1', RBUILD_USERNS_MAP: 'root', RBUILD_USERNS_OUTER_UID: '0' } })).resolves.toEqual({
      kind: 'inside',
      ns: { mode: 'root', outerUid: 0 },
    });
  });
});
