import { chmodSync, existsSync, readdirSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StepMount } from '../sandbox/sandbox.js';
import { BuildContext } from './context.js';
import { cacheMountBase, cacheMountDir, missingMountPoints, mountTarget, prepareRunMounts, removeMountPoints } from './run-mounts.js';

/** The host path of a prepared bind mount. */
const hostPath = (m: StepMount | undefined): string => (m?.type === 'bind' ? m.source : '');

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
      { type: 'bind', source: cacheMountDir(store, 'x', cacheMountBase({ type: 'cache', target: '/c', id: 'x', sharing: 'shared', readonly: false, mode: 0o700 })), target: '/c', readonly: false },
    ]);
    expect(statSync(hostPath(p.mounts[2])).mode & 0o777).toBe(0o700);
    await p.release();
    await expect(prepareRunMounts([{ type: 'secret', id: 's', required: true, mode: 0o400, uid: 0, gid: 0, target: '/run/secrets/s' }], '/', sources(store, ctx)))
      .rejects.toThrow(/secret "s" is required/);
    await expect(prepareRunMounts([{ type: 'bind', target: '/b', source: '../../etc/passwd', readonly: true }], '/', sources(store, ctx)))
      .rejects.toThrow(/not found/);
  });
  it('seeds a cache from a stage path on first use; uid/gid/mode apply; the base is part of its identity', async () => {
    const store = mkdtempSync(join(tmpdir(), 'store-'));
    const stage = mkdtempSync(join(tmpdir(), 'stage-'));
    mkdirSync(join(stage, 'deps/sub'), { recursive: true });
    writeFileSync(join(stage, 'deps/sub/pkg'), 'seeded');
    chmodSync(join(stage, 'deps'), 0o751);
    let opened = 0;
    const src = { ...sources(store, stage), openFrom: async () => ({ root: stage, release: async () => void opened++ }), fromKey: async () => 'layers-v1' };
    const mount = { type: 'cache' as const, target: '/c', id: 'deps', sharing: 'shared' as const, readonly: false, from: 'build', source: '/deps' };
    const p = await prepareRunMounts([mount], '/', src);
    const dir = hostPath(p.mounts[0]);
    expect(dir).toBe(cacheMountDir(store, 'deps', cacheMountBase(mount, 'layers-v1')));
    expect(readFileSync(join(dir, 'sub/pkg'), 'utf8')).toBe('seeded');
    expect(statSync(dir).mode & 0o777).toBe(0o751);
    expect(opened).toBe(1);
    await p.release();
    // Later uses find the cache as the steps left it: no second seeding.
    writeFileSync(join(dir, 'sub/pkg'), 'changed by a step');
    await (await prepareRunMounts([mount], '/', src)).release();
    expect(readFileSync(join(dir, 'sub/pkg'), 'utf8')).toBe('changed by a step');
    expect(opened).toBe(1);
    // uid/gid/mode given with from=: applied to the seeded root.
    const owned = { ...mount, id: 'owned', uid: 1234, gid: 2345, mode: 0o700 };
    const q = await prepareRunMounts([owned], '/', src);
    const st = statSync(hostPath(q.mounts[0]));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1234, 2345, 0o700]);
    expect(readFileSync(join(hostPath(q.mounts[0]), 'sub/pkg'), 'utf8')).toBe('seeded');
    // Another base (the stage changed) is another cache; source= without from= is refused.
    expect(cacheMountDir(store, 'deps', cacheMountBase(mount, 'layers-v2'))).not.toBe(dir);
    await expect(prepareRunMounts([{ ...mount, from: undefined }], '/', src)).rejects.toThrow(/needs from=/);
    await expect(prepareRunMounts([{ ...mount, id: 'nope', source: '/deps/sub/pkg' }], '/', src)).rejects.toThrow(/not a directory/);
  });
  it('type=ssh: a socket of its own with the uid/gid/mode asked for, forwarding to the agent', async () => {
    const store = mkdtempSync(join(tmpdir(), 'store-'));
    const agentSock = join(store, 'real-agent');
    const agent = createServer((c) => c.end('agent-hello\n'));
    await new Promise<void>((r) => agent.listen(agentSock, r));
    try {
      const src = { ...sources(store, store), ssh: new Map([['default', agentSock]]) };
      const p = await prepareRunMounts([{ type: 'ssh', id: 'default', target: '/run/buildkit/ssh_agent.0', required: false, uid: 1000, gid: 1001, mode: 0o660 }], '/', src);
      const proxy = hostPath(p.mounts[0]);
      expect(proxy).not.toBe(agentSock);
      expect(p.env).toEqual([['SSH_AUTH_SOCK', '/run/buildkit/ssh_agent.0']]);
      const st = statSync(proxy);
      expect([st.isSocket(), st.uid, st.gid, st.mode & 0o777]).toEqual([true, 1000, 1001, 0o660]);
      const got = await new Promise<string>((resolve, reject) => {
        let data = '';
        connect(proxy).on('data', (b) => (data += b.toString())).on('end', () => resolve(data)).on('error', reject);
      });
      expect(got).toBe('agent-hello\n');
      await p.release();
      expect(existsSync(proxy)).toBe(false);
      expect(statSync(agentSock).mode & 0o777).not.toBe(0o660);
    } finally {
      agent.close();
    }
  });
  it('type=bind of the context hides what .dockerignore excludes (read-only: links; rw: copies)', async () => {
    const store = mkdtempSync(join(tmpdir(), 'store-'));
    const ctxDir = mkdtempSync(join(tmpdir(), 'ctx-'));
    mkdirSync(join(ctxDir, 'src/node_modules/m'), { recursive: true });
    writeFileSync(join(ctxDir, 'src/a.txt'), 'a');
    writeFileSync(join(ctxDir, 'src/secret.env'), 'hidden');
    writeFileSync(join(ctxDir, 'src/node_modules/m/i.js'), 'hidden');
    writeFileSync(join(ctxDir, 'plain.txt'), 'p');
    chmodSync(join(ctxDir, 'src/a.txt'), 0o640);
    const ignored = (rel: string) => rel.endsWith('.env') || rel.split('/').includes('node_modules');
    const context = new BuildContext(ctxDir, { ignores: ignored });
    const src = { ...sources(store, ctxDir), context };
    const ro = await prepareRunMounts([{ type: 'bind', target: '/b', source: 'src', readonly: true }], '/', src);
    const tree = hostPath(ro.mounts[0]);
    expect(tree).not.toBe(join(ctxDir, 'src'));
    expect(readdirSync(tree).sort()).toEqual(['a.txt']);
    expect(statSync(join(tree, 'a.txt')).mode & 0o777).toBe(0o640);
    expect(statSync(join(tree, 'a.txt')).ino).toBe(statSync(join(ctxDir, 'src/a.txt')).ino);
    await ro.release();
    expect(existsSync(tree)).toBe(false);
    const rw = await prepareRunMounts([{ type: 'bind', target: '/b', readonly: false }], '/', src);
    const rwTree = hostPath(rw.mounts[0]);
    expect(readdirSync(rwTree).sort()).toEqual(['plain.txt', 'src']);
    expect(readdirSync(join(rwTree, 'src'))).toEqual(['a.txt']);
    expect(statSync(join(rwTree, 'src/a.txt')).ino).not.toBe(statSync(join(ctxDir, 'src/a.txt')).ino);
    await rw.release();
    // Nothing hidden under the source: the context is bound as it is, no copy.
    const direct = await prepareRunMounts([{ type: 'bind', target: '/b', source: 'plain.txt', readonly: true }], '/', src);
    expect(hostPath(direct.mounts[0])).toBe(join(ctxDir, 'plain.txt'));
    // An ignored source is not in the context.
    await expect(prepareRunMounts([{ type: 'bind', target: '/b', source: 'src/secret.env', readonly: true }], '/', src)).rejects.toThrow(/not found in the build context/);
  });
});
