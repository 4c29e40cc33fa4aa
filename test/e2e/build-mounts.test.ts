/** RUN --mount as an unprivileged user: cache, bind, tmpfs, secret, ssh; nothing of a mount lands in a layer. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../support/unprivileged.js';
import { blobPath, buildDirs, builtImage, busybox, rbuild, startedKinds, writeContext, type ContextFiles } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

/** The built image's manifest and config, read back from the store after a --metadata-file build. */
function built(store: string, meta: string): { layers: string[]; config: Record<string, any> } {
  const { manifest, config } = builtImage(store, meta);
  return { layers: manifest.layers.map((l: { digest: string }) => blobPath(store, l.digest)), config };
}
/**
 * A layer's entries, less the directories of the base that a step's mount points had to be created in
 * (the snapshotter records a copied-up directory even when it is unchanged: a known limitation).
 */
const entries = (layer: string): string[] =>
  execFileSync('tar', ['-tf', layer], { encoding: 'utf8' }).split('\n').filter((e) => e !== '' && !['etc/', 'run/'].includes(e));
// Layers are stored uncompressed now (base layers stay gzip): `gzip -dcf` passes a plain tar through.
const content = (layer: string): string => execFileSync('sh', ['-c', 'gzip -dcf "$1"', 'sh', layer], { encoding: 'latin1', maxBuffer: 1 << 28 });
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
function fileIn(layer: string, path: string): string {
  return execFileSync('tar', ['-xOf', layer, path], { encoding: 'utf8' });
}

describe('RUN --mount', () => {
  let work: string, store: string, ctx: string, meta: string;
  const build = (extra: string[] = [], env: Record<string, string> = {}) => rbuild(['build', '--root', store, '--progress=json', '--metadata-file', meta, ...extra, ctx], { env });
  /** Writes the context (the Dockerfile as lines, other files), builds, expects success; returns the built image. */
  const buildOk = async (dockerfile: string[], o: { files?: ContextFiles; extra?: string[]; env?: Record<string, string> } = {}) => {
    writeContext(ctx, { Dockerfile: [...dockerfile, ''].join('\n'), ...o.files });
    const r = await build(o.extra, o.env);
    expect(r.stderr).not.toMatch(/exited with code|"error"/);
    expect(r.code).toBe(0);
    return built(store, meta);
  };
  beforeAll(() => {
    ({ work, store, ctx, meta } = buildDirs('rbuild-mnt-'));
  });

  it('type=cache persists per id across cache misses, with uid/gid/mode, and is not in the layer', async () => {
    writeContext(ctx, {
      Dockerfile: [
        `FROM ${busybox()}`,
        'RUN --mount=type=cache,target=/cachedir/x,id=c1 sh -c "echo run >> /cachedir/x/log; wc -l < /cachedir/x/log | tr -d \' \' > /count"',
        'RUN --mount=type=cache,target=/c2,id=c2,uid=1000,gid=1001,mode=0700 stat -c %u:%g:%a /c2 > /st',
        '',
      ].join('\n'),
    });
    expect((await build()).code).toBe(0);
    const r = await build(['--no-cache']);
    expect(r.code).toBe(0);
    const img = built(store, meta);
    const [l1, l2] = img.layers.slice(-2) as [string, string];
    expect(fileIn(l1, 'count').trim()).toBe('2');
    expect(fileIn(l2, 'st').trim()).toBe('1000:1001:700');
    for (const l of [l1, l2]) expect(entries(l).filter((e) => /cachedir|c2/.test(e))).toEqual([]);
  });

  it('type=cache with from=STAGE,source=PATH is seeded from that path when first made', async () => {
    const { layers } = await buildOk([
      `FROM ${busybox()} AS deps`,
      'RUN mkdir -p /seed && echo seeded > /seed/s.txt && chown -R 1000:1000 /seed',
      `FROM ${busybox()}`,
      'RUN --mount=type=cache,id=seeded,from=deps,source=/seed,target=/cc sh -c "cat /cc/s.txt > /got && stat -c %u /cc > /owner && echo more >> /cc/s.txt"',
      'RUN --mount=type=cache,id=seeded,from=deps,source=/seed,target=/cc cat /cc/s.txt > /got2',
    ]);
    const [l1, l2] = layers.slice(-2) as [string, string];
    expect(fileIn(l1, 'got')).toBe('seeded\n');
    expect(fileIn(l1, 'owner').trim()).toBe('1000');
    expect(fileIn(l2, 'got2')).toBe('seeded\nmore\n');
    for (const l of [l1, l2]) expect(entries(l).filter((e) => /^cc/.test(e))).toEqual([]);
  });

  it('sharing=locked serialises users of an id; sharing=private never writes back', async () => {
    const use = 'test ! -e /l/busy && touch /l/busy && sleep 1 && rm /l/busy';
    await buildOk([
      `FROM ${busybox()} AS a`,
      `RUN --mount=type=cache,id=L,sharing=locked,target=/l sh -c '${use} && echo a'`,
      `FROM ${busybox()} AS b`,
      `RUN --mount=type=cache,id=L,sharing=locked,target=/l sh -c '${use} && echo b'`,
      `FROM ${busybox()}`,
      'COPY --from=a /etc/passwd /a',
      'COPY --from=b /etc/passwd /b',
      'RUN --mount=type=cache,id=P,sharing=private,target=/p touch /p/x',
      'RUN --mount=type=cache,id=P,target=/p sh -c "test ! -e /p/x"',
    ]);
  });

  it('type=bind from the context (read-only, rw copies discarded) and from a stage', async () => {
    const { layers } = await buildOk([
      `FROM ${busybox()} AS gen`,
      'RUN mkdir /out && echo generated > /out/g.txt',
      `FROM ${busybox()}`,
      'RUN --mount=type=bind,source=data,target=/ctxmnt cat /ctxmnt/f.txt > /copied',
      'RUN --mount=type=bind,target=/ro sh -c "! touch /ro/new 2>/dev/null" && echo ro-ok > /ro-ok',
      'RUN --mount=type=bind,target=/rw,rw touch /rw/new',
      'RUN --mount=type=bind,from=gen,source=/out,target=/g cat /g/g.txt > /from-stage',
    ], { files: { 'data/f.txt': 'one\n' } });
    expect(existsSync(join(ctx, 'new'))).toBe(false);
    // The rw bind step changes nothing of the image: no layer (its mount point's copy-up is left out).
    const ls = layers.slice(-3);
    expect(fileIn(ls[0]!, 'copied')).toBe('one\n');
    expect(fileIn(ls[1]!, 'ro-ok')).toBe('ro-ok\n');
    expect(fileIn(ls[2]!, 'from-stage')).toBe('generated\n');
    for (const l of ls) expect(entries(l).filter((e) => /ctxmnt|^ro\/|^rw|^g\//.test(e))).toEqual([]);
    // The content of a bind-mounted source is part of the step's cache key.
    writeContext(ctx, { 'data/f.txt': 'two\n' });
    const again = await build();
    expect(again.code).toBe(0);
    expect(startedKinds(again.stderr)[0]).toBe('RUN');
    expect(fileIn(built(store, meta).layers.at(-3)!, 'copied')).toBe('two\n');
  });

  it('type=bind of the context respects .dockerignore', async () => {
    try {
      const { layers } = await buildOk([
        `FROM ${busybox()}`,
        'RUN --mount=type=bind,source=ign,target=/m sh -c "ls -A /m > /listing && cat /m/keep.txt > /kept"',
        'RUN --mount=type=bind,source=ign,target=/m,rw sh -c "ls -A /m > /listing-rw"',
      ], { files: { '.dockerignore': '**/*.log\nign/node_modules\n', 'ign/keep.txt': 'kept\n', 'ign/drop.log': 'ignored\n', 'ign/node_modules/x.js': 'ignored\n' } });
      const [l1, l2] = layers.slice(-2) as [string, string];
      expect(fileIn(l1, 'listing')).toBe('keep.txt\n');
      expect(fileIn(l1, 'kept')).toBe('kept\n');
      expect(fileIn(l2, 'listing-rw')).toBe('keep.txt\n');
    } finally {
      rmSync(join(ctx, '.dockerignore'));
    }
  });

  it('type=tmpfs is a tmpfs and leaves nothing', async () => {
    const l = (await buildOk([`FROM ${busybox()}`, 'RUN --mount=type=tmpfs,target=/scratch/t sh -c \'echo x > /scratch/t/f && grep -q " /scratch/t tmpfs" /proc/mounts && echo ok > /tmpfs-ok\'']))
      .layers.at(-1)!;
    expect(entries(l)).toEqual(['tmpfs-ok']);
  });

  it('type=secret as a file and as env: never in a layer, the config or the cache key', async () => {
    const secretFile = join(work, 'token.txt');
    writeContext(work, { 'token.txt': 's3cr3t-file' });
    const img = await buildOk([
      `FROM ${busybox()}`,
      // The Dockerfile compares digests: the secret itself appears nowhere but in the secret's source.
      `RUN --mount=type=secret,id=tok test "$(md5sum < /run/secrets/tok | cut -d' ' -f1)" = ${md5('s3cr3t-file')} && echo ok > /file-ok`,
      `RUN --mount=type=secret,id=tok2,env=TOK,required=true test "$(printf %s "$TOK" | md5sum | cut -d' ' -f1)" = ${md5('s3cr3t-env')} && echo ok > /env-ok`,
    ], { extra: ['--secret', `id=tok,src=${secretFile}`, '--secret', 'id=tok2,env=MY_TOKEN'], env: { MY_TOKEN: 's3cr3t-env' } });
    for (const l of img.layers.slice(-2)) {
      expect(entries(l).filter((e) => /run\/secrets|^run/.test(e))).toEqual([]);
      expect(content(l)).not.toMatch(/s3cr3t/);
    }
    expect(JSON.stringify(img.config)).not.toMatch(/s3cr3t/);
    expect(execFileSync('sh', ['-c', 'grep -rl s3cr3t "$1" || true', 'sh', store], { encoding: 'utf8' }).trim()).toBe('');
    // Another secret value is not a cache miss.
    writeContext(work, { 'token.txt': 'other' });
    const again = await build(['--secret', `id=tok,src=${secretFile}`, '--secret', 'id=tok2,env=MY_TOKEN'], { MY_TOKEN: 's3cr3t-env' });
    expect(again.code).toBe(0);
    expect(startedKinds(again.stderr)).toEqual([]);
    // required=true without the secret is one clear error.
    writeContext(work, { 'token.txt': 's3cr3t-file' });
    const missing = await build(['--no-cache', '--secret', `id=tok,src=${secretFile}`]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/secret "tok2" is required/);
  });

  describe('type=ssh', () => {
    let server: Server;
    let sock: string;
    beforeAll(async () => {
      sock = join(work, 'agent.sock');
      server = createServer((c) => c.end('agent-hello\n'));
      await new Promise<void>((r) => server.listen(sock, r));
      chmodSync(sock, 0o777);
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('forwards $SSH_AUTH_SOCK at /run/buildkit/ssh_agent.0', async () => {
      const ssh = { extra: ['--ssh', 'default'], env: { SSH_AUTH_SOCK: sock } };
      const l = (await buildOk([`FROM ${busybox()}`, 'RUN --mount=type=ssh sh -c \'test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /sock-path\''], ssh)).layers.at(-1)!;
      expect(fileIn(l, 'sock-path').trim()).toBe('/run/buildkit/ssh_agent.0');
      expect(entries(l)).toEqual(['sock-path']);
    });

    it('honours uid/gid/mode of the forwarded socket (default 0:0 0600)', async () => {
      const { layers } = await buildOk([
        `FROM ${busybox()}`,
        'RUN --mount=type=ssh stat -c %u:%g:%a "$SSH_AUTH_SOCK" > /default',
        'RUN --mount=type=ssh,uid=1000,gid=1001,mode=0660,target=/agent.sock sh -c \'test "$SSH_AUTH_SOCK" = /agent.sock && test -S /agent.sock && stat -c %u:%g:%a /agent.sock > /owned\'',
      ], { extra: ['--ssh', 'default'], env: { SSH_AUTH_SOCK: sock } });
      const [l1, l2] = layers.slice(-2) as [string, string];
      expect(fileIn(l1, 'default').trim()).toBe('0:0:600');
      expect(fileIn(l2, 'owned').trim()).toBe('1000:1001:660');
      expect(entries(l2)).toEqual(['owned']);
    });
  });
});
