import { describe, expect, it } from 'vitest';
import type { ImageConfig } from '../../registry/oci/types.js';
import { parseDockerfile, toStages } from '../dockerfile/index.js';
import { checkImageFacts, isShellForm, MAX_LISTED, writable } from './image-rules.js';
import { dockerfileSource, layerLines } from './source-map.js';
import type { FileFact, ImageFacts, LayerFacts } from './types.js';
import { resolveUser } from './users.js';

const passwd = 'root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n';
const group = 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n';

function layer(index: number, base = false, createdBy?: string): LayerFacts {
  return { index, digest: `sha256:${String(index).repeat(64)}`, base, entries: 1, bytes: 1, ...(createdBy ? { createdBy } : {}) };
}

function facts(over: Partial<ImageFacts> = {}): ImageFacts {
  return { layers: [layer(0, true), layer(1)], privileged: [], capabilities: [], worldWritable: [], secrets: [], caches: [], watched: new Map(), passwd, group, ...over };
}

function config(c: ImageConfig['config'] = {}, history?: ImageConfig['history']): ImageConfig {
  return { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: c, ...(history ? { history } : {}) };
}

const good = { User: 'app', WorkingDir: '/app', Cmd: ['/app/server'], Healthcheck: { Test: ['CMD', '/app/health'] }, ExposedPorts: { '8080/tcp': {} } };
const appDir: FileFact = { path: '/app', layer: 1, type: 'dir', mode: 0o755, uid: 1000, gid: 1000, size: 0 };

function ids(f: ImageFacts, c: ImageConfig) {
  return checkImageFacts({ facts: f, config: c }).map((x) => x.ruleId);
}

describe('image rules over fake facts', () => {
  it('a compliant image has no finding', () => {
    expect(ids(facts({ watched: new Map([['/app', appDir]]) }), config(good))).toEqual([]);
  });

  it('RB001: unset, root, 0, and a name with uid 0', () => {
    for (const User of [undefined, 'root', '0', '0:0', 'toor']) {
      const r = checkImageFacts({ facts: facts(), config: config({ ...good, ...(User === undefined ? { User: '' } : { User }) }) });
      expect(r.find((x) => x.ruleId === 'RB001')?.severity, String(User)).toBe('error');
    }
    const named = checkImageFacts({ facts: facts(), config: config({ ...good, User: 'toor' }) });
    expect(named.find((x) => x.ruleId === 'RB001')!.message).toMatch(/toor resolves to uid 0/);
  });

  it('RB002: a user or group missing from /etc/passwd, /etc/group', () => {
    expect(ids(facts(), config({ ...good, User: 'nobody2' }))).toContain('RB002');
    expect(ids(facts(), config({ ...good, User: 'app:nogroup' }))).toContain('RB002');
    expect(ids(facts({ watched: new Map([['/app', appDir]]) }), config({ ...good, User: '1234' }))).not.toContain('RB002');
  });

  it('RB003: WORKDIR missing, or owned by root and not writable', () => {
    expect(ids(facts(), config(good))).toContain('RB003');
    const rootOwned = { ...appDir, uid: 0, gid: 0 };
    const r = checkImageFacts({ facts: facts({ watched: new Map([['/app', rootOwned]]) }), config: config(good) });
    expect(r.find((x) => x.ruleId === 'RB003')).toMatchObject({ location: { layer: 1, path: '/app' } });
    expect(ids(facts({ watched: new Map([['/app', { ...rootOwned, gid: 2000, mode: 0o775 }]]) }), config(good))).not.toContain('RB003');
  });

  it('RB004/RB005: world-writable own files; dirs without sticky bit (base ones one level lower)', () => {
    const ww: FileFact[] = [
      { path: '/app/run.sh', layer: 1, type: 'file', mode: 0o666, uid: 0, gid: 0, size: 3 },
      { path: '/base-file', layer: 0, type: 'file', mode: 0o666, uid: 0, gid: 0, size: 3 },
      { path: '/shared', layer: 0, type: 'dir', mode: 0o777, uid: 0, gid: 0, size: 0 },
      { path: '/app/data', layer: 1, type: 'dir', mode: 0o777, uid: 0, gid: 0, size: 0 },
    ];
    const r = checkImageFacts({ facts: facts({ worldWritable: ww, watched: new Map([['/app', appDir]]) }), config: config(good) });
    expect(r.map((x) => [x.ruleId, x.location.path, x.severity])).toEqual([
      ['RB004', '/app/run.sh', 'warn'],
      ['RB005', '/shared', 'info'],
      ['RB005', '/app/data', 'warn'],
    ]);
  });

  it('caps long lists and sums up the rest', () => {
    const ww: FileFact[] = Array.from({ length: 25 }, (_, i) => ({ path: `/app/f${i}`, layer: 1, type: 'file', mode: 0o666, uid: 0, gid: 0, size: 1 }));
    const r = checkImageFacts({ facts: facts({ worldWritable: ww, watched: new Map([['/app', appDir]]) }), config: config(good) });
    expect(r.length).toBe(MAX_LISTED + 1);
    expect(r.at(-1)!.message).toBe('and 15 more world-writable files');
  });

  it('RB006: EXPOSE below 1024', () => {
    const r = checkImageFacts({ facts: facts({ watched: new Map([['/app', appDir]]) }), config: config({ ...good, ExposedPorts: { '80/tcp': {}, '8080/tcp': {}, '443/udp': {} } }) });
    expect(r.map((x) => x.message)).toEqual(['EXPOSE 80/tcp: port 80 is below 1024', 'EXPOSE 443/udp: port 443 is below 1024']);
  });

  it('RB007/RB008: setuid/setgid and capabilities, own apart from base', () => {
    const su: FileFact = { path: '/bin/su', layer: 0, type: 'file', mode: 0o4755, uid: 0, gid: 0, size: 1 };
    const mine: FileFact = { path: '/app/tool', layer: 1, type: 'file', mode: 0o6755, uid: 0, gid: 0, size: 1 };
    const r = checkImageFacts({ facts: facts({ privileged: [su, mine], capabilities: [{ ...mine, path: '/app/ping', mode: 0o755 }], watched: new Map([['/app', appDir]]) }), config: config(good) });
    expect(r.map((x) => [x.ruleId, x.location.path, x.severity, x.fromBase ?? false])).toEqual([
      ['RB007', '/bin/su', 'info', true],
      ['RB007', '/app/tool', 'warn', false],
      ['RB008', '/app/ping', 'warn', false],
    ]);
    expect(r[1]!.message).toMatch(/setuid\+setgid.*added by layer 2\/2/);
  });

  it('RB009: secrets, also deleted ones, with the layers that added and removed them', () => {
    const r = checkImageFacts({ facts: facts({ layers: [layer(0, true), layer(1), layer(2)], secrets: [{ path: '/root/.ssh/id_rsa', kind: 'private key', layer: 1, removedIn: 2 }], watched: new Map([['/app', appDir]]) }), config: config(good) });
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ ruleId: 'RB009', severity: 'error', location: { layer: 1, path: '/root/.ssh/id_rsa', layerDigest: layer(1).digest } });
    expect(r[0]!.message).toMatch(/removed by layer 3\/3/);
  });

  it('RB010: ENV and recorded build args that look like secrets', () => {
    const c = config({ ...good, Env: ['PATH=/bin', 'DB_PASSWORD=hunter2', 'TOKEN_FILE=/run/secrets/t', 'X=ghp_abcdefghijklmnopqrstuvwxyz0123456789'] }, [
      { created_by: 'RUN |2 NPM_TOKEN=abc VERSION=1 /bin/sh -c npm ci' },
    ]);
    const r = checkImageFacts({ facts: facts({ watched: new Map([['/app', appDir]]) }), config: c });
    expect(r.map((x) => x.message)).toEqual([
      'ENV DB_PASSWORD is kept in the image config: its name looks like a secret',
      'ENV X is kept in the image config: its value looks like a GitHub token',
      'build arg NPM_TOKEN is kept in the image history: its name looks like a secret',
    ]);
  });

  it('RB012: ADD of a URL without --checksum, from the history', () => {
    const f = facts({ layers: [layer(0, true), layer(1, false, 'ADD https://example.com/a.tgz /x'), layer(2, false, 'ADD --checksum=sha256:00 https://example.com/b /y')], watched: new Map([['/app', appDir]]) });
    expect(checkImageFacts({ facts: f, config: config(good) }).map((x) => [x.ruleId, x.location.layer])).toEqual([['RB012', 1]]);
  });

  it('RB013/RB014: shell-form commands and no healthcheck', () => {
    const f = facts({ watched: new Map([['/app', appDir]]) });
    expect(ids(f, config({ ...good, Cmd: ['/bin/sh', '-c', 'exec server'] }))).toEqual(['RB013']);
    expect(ids(f, config({ ...good, Entrypoint: ['/bin/sh', '-c', 'server'], Cmd: null }))).toEqual(['RB013']);
    expect(ids(f, config({ ...good, Entrypoint: ['/app/server'], Cmd: ['/bin/sh', '-c', 'x'] }))).toEqual([]);
    expect(ids(f, config({ ...good, Healthcheck: { Test: ['NONE'] } }))).toEqual(['RB014']);
    expect(isShellForm(['pwsh', '-c', 'x'], ['pwsh', '-c'])).toBe(true);
  });

  it('RB015: package caches with their bytes; base-only caches are info', () => {
    const r = checkImageFacts({
      facts: facts({ caches: [{ dir: '/var/lib/apt/lists', manager: 'apt', bytes: 21_500_000, files: 9, layers: [1] }, { dir: '/var/cache/apk', manager: 'apk', bytes: 10, files: 1, layers: [0] }], watched: new Map([['/app', appDir]]) }),
      config: config(good),
    });
    expect(r.map((x) => [x.severity, x.bytes, x.message])).toEqual([
      ['warn', 21_500_000, '/var/lib/apt/lists: apt cache of 21.5 MB in 9 files, left by layer 2/2 (111111111111)'],
      ['info', 10, '/var/cache/apk: apk cache of 10 B in 1 files, left by layer 1/2 (000000000000) of the base image'],
    ]);
  });

  it('points findings at Dockerfile lines through the history', () => {
    const text = 'FROM busybox\nWORKDIR /app\nCOPY x /app/x\nRUN chmod 666 /app/x\nUSER root\n';
    const src = dockerfileSource('Dockerfile', toStages(parseDockerfile(text, { file: 'Dockerfile' })));
    const layers = [layer(0, true), layer(1, false, 'WORKDIR /app'), layer(2, false, 'COPY x /app/x'), layer(3, false, 'RUN /bin/sh -c chmod 666 /app/x # rbuild')];
    expect([...layerLines(src, layers)]).toEqual([[1, 2], [2, 3], [3, 4]]);
    const ww: FileFact[] = [{ path: '/app/x', layer: 3, type: 'file', mode: 0o666, uid: 0, gid: 0, size: 1 }];
    const r = checkImageFacts({ facts: facts({ layers, worldWritable: ww }), config: config({ ...good, User: 'root' }), dockerfile: src });
    expect(r.map((x) => [x.ruleId, x.location.line])).toEqual([['RB001', 5], ['RB004', 4]]);
  });
});

describe('users and permissions', () => {
  it('resolves names, uids, groups and supplementary groups', () => {
    expect(resolveUser('', passwd, group)).toMatchObject({ uid: 0, gid: 0 });
    expect(resolveUser('app', passwd, group)).toEqual({ uid: 1000, gid: 1000, groups: [2000] });
    expect(resolveUser('1000:2000', passwd, group)).toMatchObject({ uid: 1000, gid: 2000 });
    expect(resolveUser('5000', passwd, group)).toEqual({ uid: 5000, gid: 5000 });
    expect(resolveUser('ghost', passwd, group)).toEqual({ missing: 'user' });
  });
  it('writable by owner, group, other', () => {
    const u = { uid: 1000, gid: 1000, groups: [2000] };
    expect(writable({ uid: 1000, gid: 0, mode: 0o755 }, u)).toBe(true);
    expect(writable({ uid: 1000, gid: 0, mode: 0o555 }, u)).toBe(false);
    expect(writable({ uid: 0, gid: 2000, mode: 0o775 }, u)).toBe(true);
    expect(writable({ uid: 0, gid: 0, mode: 0o755 }, u)).toBe(false);
    expect(writable({ uid: 0, gid: 0, mode: 0o777 }, u)).toBe(true);
  });
});
