/** ADD as an unprivileged user: local archives unpacked (gzip, bzip2, xz), http(s) URLs, git repositories. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as netServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDirFor, TEST_USER, removeTempDirs, tempDir } from '../support/unprivileged.js';
import { blobPath, builtImage, busybox, rbuild, startedKinds, writeContext } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('ADD', () => {
  let work: string;
  let http: Server;
  let httpPort: number;
  let gitd: ChildProcess;
  let gitPort: number;
  let body = 'remote v1\n';
  /** Paths the HTTP server was asked for. */
  const hits: string[] = [];
  beforeAll(async () => {
    work = tempDirFor(TEST_USER, 'rbuild-add-');
    http = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(200, { 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }).end(body);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    httpPort = (http.address() as { port: number }).port;
    // A bare repository served by git daemon on loopback.
    const gitRoot = tempDir('rbuild-git-');
    const src = join(gitRoot, 'src');
    mkdirSync(src);
    const git = (...a: string[]) => execFileSync('git', ['-C', src, '-c', 'user.name=t', '-c', 'user.email=t@e', ...a]);
    git('init', '-q', '-b', 'main');
    writeFileSync(join(src, 'README'), 'v1\n');
    git('add', '.');
    git('commit', '-qm', 'one');
    git('tag', 'v1');
    writeFileSync(join(src, 'README'), 'v2\n');
    git('commit', '-qam', 'two');
    execFileSync('git', ['clone', '-q', '--bare', src, join(gitRoot, 'repo.git')]);
    gitPort = await freePort();
    gitd = spawn('git', ['daemon', '--reuseaddr', `--base-path=${gitRoot}`, '--export-all', '--listen=127.0.0.1', `--port=${gitPort}`, gitRoot], { stdio: 'ignore' });
    // Wait until the daemon answers.
    for (let i = 0; ; i++) {
      try {
        execFileSync('git', ['ls-remote', `git://127.0.0.1:${gitPort}/repo.git`], { stdio: 'ignore' });
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  afterAll(() => {
    http?.close();
    gitd?.kill();
  });

  it('unpacks local archives by content, downloads URLs, clones git', async () => {
    const store = join(work, 'store');
    const ctx = join(work, 'ctx');
    const meta = join(work, 'meta.json');
    const stage = tempDir('rbuild-arch-');
    mkdirSync(join(stage, 'pkg'));
    writeFileSync(join(stage, 'pkg/hello.txt'), 'from archive\n');
    execFileSync('chown', ['-R', '1234:1234', join(stage, 'pkg')]);
    execFileSync('sh', ['-c', 'tar -cf a.tar pkg && gzip -c a.tar > data.bin && bzip2 -c a.tar > a.tar.bz2 && xz -c a.tar > a.tar.xz'], { cwd: stage });
    const sum = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const url = `http://127.0.0.1:${httpPort}/files/remote.txt`;
    writeContext(ctx, {
      Dockerfile: [
        `FROM ${busybox()}`,
        'ADD data.bin /gz/',
        'ADD a.tar.bz2 /bz/',
        'ADD a.tar.xz /xz/',
        'ADD --unpack=false a.tar.xz /raw/',
        `ADD --checksum=${sum} ${url} /remote/`,
        `ADD ${url} /named.txt`,
        `ADD git://127.0.0.1:${gitPort}/repo.git /src`,
        `ADD --keep-git-dir=true git://127.0.0.1:${gitPort}/repo.git#v1 /src-v1`,
        '',
      ].join('\n'),
      'data.bin': readFileSync(join(stage, 'data.bin')),
      'a.tar.bz2': readFileSync(join(stage, 'a.tar.bz2')),
      'a.tar.xz': readFileSync(join(stage, 'a.tar.xz')),
    });
    hits.length = 0;
    const r = await rbuild(['build', '--root', store, '--progress=json', '--metadata-file', meta, ctx]);
    expect(r.stderr).not.toMatch(/"error"/);
    expect(r.code).toBe(0);
    // Two ADDs of one URL, each needing it for its cache key and its copy: one download.
    expect(hits).toEqual(['/files/remote.txt']);
    const layersOf = () => builtImage(store, meta).manifest.layers.slice(1).map((l: { digest: string }) => blobPath(store, l.digest)) as string[];
    const layers = layersOf();
    const file = (i: number, p: string) => execFileSync('tar', ['-xOf', layers[i]!, p], { encoding: 'utf8' });
    const list = (i: number) => execFileSync('tar', ['--numeric-owner', '-tvf', layers[i]!], { encoding: 'utf8' });
    expect(file(0, 'gz/pkg/hello.txt')).toBe('from archive\n');
    expect(list(0)).toMatch(/1234\/1234 .* gz\/pkg\/hello.txt/);
    expect(file(1, 'bz/pkg/hello.txt')).toBe('from archive\n');
    expect(file(2, 'xz/pkg/hello.txt')).toBe('from archive\n');
    expect(list(3)).toMatch(/raw\/a.tar.xz/);
    expect(file(4, 'remote/remote.txt')).toBe(body);
    expect(list(4)).toMatch(/-rw------- .* 2015-10-21 07:28 remote\/remote.txt/);
    expect(file(5, 'named.txt')).toBe(body);
    expect(file(6, 'src/README')).toBe('v2\n');
    expect(list(6)).not.toMatch(/src\/\.git/);
    expect(file(7, 'src-v1/README')).toBe('v1\n');
    expect(list(7)).toMatch(/src-v1\/\.git\//);

    // Remote content is part of the key: a changed download reruns from that step.
    body = 'remote v2\n';
    writeContext(ctx, { Dockerfile: readFileSync(join(ctx, 'Dockerfile'), 'utf8').replace(`ADD --checksum=${sum} ${url} /remote/\n`, '') });
    const again = await rbuild(['build', '--root', store, '--progress=json', '--metadata-file', meta, ctx]);
    expect(again.code).toBe(0);
    expect(startedKinds(again.stderr)).toEqual(['ADD', 'ADD', 'ADD']);
  });

  it('with --checksum a cached ADD downloads nothing', async () => {
    const ctx = join(work, 'sum');
    const sum = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    writeContext(ctx, { Dockerfile: `FROM ${busybox()}\nADD --checksum=${sum} http://127.0.0.1:${httpPort}/files/summed.txt /s.txt\n` });
    const build = () => rbuild(['build', '--root', join(work, 'store'), '--progress=json', ctx]);
    hits.length = 0;
    expect((await build()).code).toBe(0);
    expect(hits).toEqual(['/files/summed.txt']);
    // Without --checksum, as the first step that misses (the build then re-runs in its namespace): one download.
    const first = join(work, 'first');
    writeContext(first, { Dockerfile: `FROM ${busybox()}\nADD http://127.0.0.1:${httpPort}/files/first.txt /f.txt\n` });
    hits.length = 0;
    expect((await rbuild(['build', '--root', join(work, 'store'), first])).code).toBe(0);
    expect(hits).toEqual(['/files/first.txt']);
    expect(readdirSync(join(work, 'store/tmp')).filter((n) => n.startsWith('add-'))).toEqual([]);
    hits.length = 0;
    const again = await build();
    expect(again.code).toBe(0);
    expect(startedKinds(again.stderr)).toEqual([]);
    expect(hits).toEqual([]);
  });

  it('a wrong --checksum fails the build with both digests', async () => {
    const ctx = join(work, 'bad');
    writeContext(ctx, { Dockerfile: `FROM ${busybox()}\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${httpPort}/x /x\n` });
    const r = await rbuild(['build', '--root', join(work, 'store'), ctx]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/checksum mismatch/);
  });
});
