import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheMountDir, missingMountPoints, mountTarget, prepareRunMounts, removeMountPoints } from './run-mounts.js';

const sources = (storeRoot: string, contextDir: string) => ({
  storeRoot, contextDir, secrets: new Map(), ssh: new Map(),
  openFrom: async () => ({ root: contextDir, release: async () => undefined }),
});

describe('RUN --mount helpers', () => {
  it('places cache ids under the store as digests', () => {
    expect(cacheMountDir('/s', '../../etc')).toMatch(/^\/s\/cache\/mounts\/[0-9a-f]{32}$/);
    expect(cacheMountDir('/s', 'a')).not.toBe(cacheMountDir('/s', 'b'));
  });
  it('makes relative targets absolute against the workdir', () => {
    expect(mountTarget('/app', 'cache')).toBe('/app/cache');
    expect(mountTarget('/app', '/abs/../x')).toBe('/x');
  });
  it('removes exactly the mount points it had to create, if still empty', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mp-'));
    mkdirSync(join(root, 'run'));
    const missing = await missingMountPoints(root, ['/run/secrets/tok', '/a/b']);
    expect(missing).toEqual(['/run/secrets', '/run/secrets/tok', '/a', '/a/b']);
    mkdirSync(join(root, 'run/secrets'));
    writeFileSync(join(root, 'run/secrets/tok'), '');
    mkdirSync(join(root, 'a/b'), { recursive: true });
    writeFileSync(join(root, 'a/kept'), 'the step wrote this');
    await removeMountPoints(root, missing);
    expect(existsSync(join(root, 'run'))).toBe(true);
    expect(existsSync(join(root, 'run/secrets'))).toBe(false);
    expect(existsSync(join(root, 'a/b'))).toBe(false);
    expect(existsSync(join(root, 'a/kept'))).toBe(true);
  });
  it('prepares tmpfs, context binds and secrets; a required missing secret is an error', async () => {
    const store = mkdtempSync(join(tmpdir(), 'store-'));
    const ctx = mkdtempSync(join(tmpdir(), 'ctx-'));
    writeFileSync(join(ctx, 'f'), 'x');
    const p = await prepareRunMounts([
      { type: 'tmpfs', target: 't' },
      { type: 'bind', target: '/b', source: 'f', readonly: true },
      { type: 'cache', target: '/c', id: 'x', sharing: 'shared', readonly: false, mode: 0o700 },
    ], '/w', sources(store, ctx));
    expect(p.mounts).toEqual([
      { type: 'tmpfs', target: '/w/t' },
      { type: 'bind', source: join(ctx, 'f'), target: '/b', readonly: true },
      { type: 'bind', source: cacheMountDir(store, 'x'), target: '/c', readonly: false },
    ]);
    expect(statSync(cacheMountDir(store, 'x')).mode & 0o777).toBe(0o700);
    await p.release();
    await expect(prepareRunMounts([{ type: 'secret', id: 's', required: true, mode: 0o400, uid: 0, gid: 0, target: '/run/secrets/s' }], '/', sources(store, ctx)))
      .rejects.toThrow(/secret "s" is required/);
    await expect(prepareRunMounts([{ type: 'bind', target: '/b', source: '../../etc/passwd', readonly: true }], '/', sources(store, ctx)))
      .rejects.toThrow(/not found/);
  });
});
