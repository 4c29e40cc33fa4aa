/**
 * The build command's remaining flags of issue 6, end to end as the test user
 * against the real registry: -q, --progress plain|json|tty, --build-arg-file and
 * --build-arg from the environment, --format docker, a Dockerfile outside the
 * context, --source-date-epoch reproducibility, --jobs, --network, --pull.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../support/unprivileged.js';
import { buildContext, busybox, events, rbuild, writeContext } from './build-fixtures.js';

afterAll(removeTempDirs);

function blob(store: string, digest: string): Record<string, any> {
  return JSON.parse(readFileSync(join(store, 'oci/blobs/sha256', digest.replace('sha256:', '')), 'utf8'));
}

describe('build command line', () => {
  let work: string, store: string, ctx: string;
  beforeAll(() => {
    ({ work, store, ctx } = buildContext('rbuild-cli-', {
      Dockerfile: `FROM ${busybox()}\nCOPY a.txt /a.txt\nRUN echo built-line && echo made > /made\nCMD ["sh"]\n`,
      'a.txt': 'a\n',
    }));
  });

  it('-q prints the image ID alone on stdout, the one --iidfile writes', async () => {
    const iid = join(work, 'iid');
    const r = await rbuild(['build', '--root', store, '-q', '--iidfile', iid, ctx]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(r.stdout.trim()).toBe(readFileSync(iid, 'utf8'));
    // No progress: step logs and the summary stay out of stderr too.
    expect(r.stderr).not.toMatch(/built-line|DONE|steps:/);
  });

  it('--progress=plain: numbered steps with their logs, then per-step times (cached ones marked), digest and size', async () => {
    const dir = join(work, 'plain');
    writeContext(dir, { Dockerfile: `FROM ${busybox()}\nRUN echo plain-out-1 && echo plain-out-2\nENV X=1\n` });
    const cold = await rbuild(['build', '--root', store, '--progress=plain', dir]);
    expect(cold.code).toBe(0);
    expect(cold.stderr).toMatch(/^#1 \[stage-0 1\/2\] RUN echo plain-out-1 && echo plain-out-2$/m);
    expect(cold.stderr).toMatch(/^#1 plain-out-1\n#1 plain-out-2$/m);
    expect(cold.stderr).toMatch(/^#1 DONE \d+\.\ds$/m);
    expect(cold.stderr).toMatch(/^steps:\n {2}#1 +\d+\.\ds {2}\[stage-0 1\/2\] RUN echo/m);
    expect(cold.stderr).toMatch(/^image sha256:[0-9a-f]{64} \d+\.\d (KiB|MiB)$/m);
    const warm = await rbuild(['build', '--root', store, '--progress=plain', dir]);
    expect(warm.code).toBe(0);
    expect(warm.stderr).toMatch(/^#1 \[stage-0 1\/2\] RUN echo plain-out-1 && echo plain-out-2 CACHED$/m);
    expect(warm.stderr).toMatch(/^ {2}#1 CACHED {2}\[stage-0 1\/2\]/m);
    expect(warm.stderr).not.toContain('plain-out-1\n');
  });

  it('--progress=json: one JSON event per line, ending with the result (digest, tags, size)', async () => {
    const r = await rbuild(['build', '--root', store, '--progress=json', '--no-cache', '-t', 'cli-json:1', ctx]);
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    // Every line is an event a tool can parse (nothing else is mixed in).
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    const ev = events(r.stderr);
    expect(ev.every((e) => typeof e.type === 'string' && typeof e.time === 'string')).toBe(true);
    expect(ev.filter((e) => e.type === 'step-start').map((e) => e.text)).toEqual(['COPY a.txt /a.txt', 'RUN echo built-line && echo made > /made', 'CMD ["sh"]']);
    expect(ev.some((e) => e.type === 'step-log' && String(e.data).includes('built-line'))).toBe(true);
    const result = ev[ev.length - 1]!;
    expect(result).toMatchObject({ type: 'result', tags: ['docker.io/library/cli-json:1'] });
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.size).toBeGreaterThan(0);
  });

  it('--progress=tty: a live area redrawn in place, finished steps above it', async () => {
    const r = await rbuild(['build', '--root', store, '--progress=tty', '--no-cache', ctx]);
    expect(r.code).toBe(0);
    // Green DONE per finished step, the cursor moved up over the live area to redraw it.
    expect(r.stderr).toMatch(/RUN echo built-line && echo made > \/made\n {2}\x1b\[32mDONE\x1b\[0m \d+\.\ds/);
    expect(r.stderr).toMatch(/\x1b\[36m=> \[stage-0 2\/3\] RUN echo built-line/);
    expect(r.stderr).toMatch(/\x1b\[\d+A\x1b\[J/);
    expect(r.stderr).toMatch(/^image sha256:[0-9a-f]{64}/m);
  });

  it('--build-arg-file, --build-arg KEY from the environment, the command line winning; ARGs stay out of the config', async () => {
    const dir = join(work, 'args');
    writeContext(dir, {
      Dockerfile: `FROM ${busybox()}\nARG A\nARG B\nARG C\nRUN echo "A=$A B=$B C=$C" > /args\n`,
      'args.env': '# a comment\nA=from-file\n\nB=file-b\n',
    });
    const meta = join(work, 'args-meta.json');
    const r = await rbuild(
      ['build', '--root', store, '--progress=plain', '--build-arg-file', join(dir, 'args.env'), '--build-arg', 'B=cli-b', '--build-arg', 'C', '--metadata-file', meta, '--output', `type=local,dest=${join(work, 'args-out')}`, dir],
      { env: { C: 'from-env' } },
    );
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(readFileSync(join(work, 'args-out/args'), 'utf8')).toBe('A=from-file B=cli-b C=from-env\n');
    const manifest = blob(store, JSON.parse(readFileSync(meta, 'utf8'))['containerimage.digest']);
    const env = blob(store, manifest.config.digest).config.Env as string[];
    expect(env.some((e) => /^(A|B|C)=/.test(e))).toBe(false);
  });

  it('--format docker writes Docker schema2 media types', async () => {
    const meta = join(work, 'docker-meta.json');
    const r = await rbuild(['build', '--root', store, '--format', 'docker', '--metadata-file', meta, ctx]);
    expect(r.code).toBe(0);
    const manifest = blob(store, JSON.parse(readFileSync(meta, 'utf8'))['containerimage.digest']);
    expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(manifest.config.mediaType).toBe('application/vnd.docker.container.image.v1+json');
    expect(manifest.layers.every((l: { mediaType: string }) => l.mediaType.startsWith('application/vnd.docker.image.rootfs.diff.tar'))).toBe(true);
  });

  it('-f names a Dockerfile outside the context', async () => {
    const outside = join(work, 'elsewhere');
    writeContext(outside, { 'build.Dockerfile': `FROM ${busybox()}\nCOPY a.txt /from-outside.txt\n` });
    const r = await rbuild(['build', '--root', store, '--progress=plain', '-f', join(outside, 'build.Dockerfile'), '--output', `type=local,dest=${join(work, 'f-out')}`, ctx]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(readFileSync(join(work, 'f-out/from-outside.txt'), 'utf8')).toBe('a\n');
  });

  it('--source-date-epoch (and SOURCE_DATE_EPOCH) give the same image from fresh stores at different times', async () => {
    const build = async (name: string, args: string[], env: Record<string, string> = {}) => {
      const meta = join(work, `${name}.json`);
      const s = join(work, name);
      const r = await rbuild(['build', '--root', s, '--progress=plain', '--metadata-file', meta, ...args, ctx], { env });
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      const digest = JSON.parse(readFileSync(meta, 'utf8'))['containerimage.digest'] as string;
      return { digest, config: blob(s, blob(s, digest).config.digest) };
    };
    const a = await build('sde-a', ['--source-date-epoch', '1700000000']);
    // A second later: files made by RUN and COPY get new mtimes, clamped to the epoch.
    await new Promise((r) => setTimeout(r, 1100));
    const b = await build('sde-b', ['--source-date-epoch', '1700000000']);
    const c = await build('sde-c', [], { SOURCE_DATE_EPOCH: '1700000000' });
    expect(b.digest).toBe(a.digest);
    expect(c.digest).toBe(a.digest);
    expect(new Date(a.config.created).getTime()).toBe(1700000000_000);
    const bad = await rbuild(['build', '--root', store, '--source-date-epoch', 'yesterday', ctx]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --source-date-epoch must be whole seconds/m);
  });

  it('--jobs bounds parallel stages; a bad value is a usage error', async () => {
    const dir = join(work, 'jobs');
    writeContext(dir, {
      Dockerfile: `FROM ${busybox()} AS a\nRUN echo a > /a\nFROM ${busybox()} AS b\nRUN echo b > /b\nFROM ${busybox()}\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n`,
    });
    const r = await rbuild(['build', '--root', store, '--progress=json', '--jobs', '1', '--output', `type=local,dest=${join(work, 'jobs-out')}`, dir]);
    expect(r.code).toBe(0);
    // With one job, a stage's steps never interleave with another's.
    const order = events(r.stderr).filter((e) => e.type === 'step-start' || e.type === 'step-done').map((e) => `${e.type}:${e.step}`);
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]!.split(':')[1]).toBe(order[i]!.split(':')[1]);
    expect(readFileSync(join(work, 'jobs-out/a'), 'utf8') + readFileSync(join(work, 'jobs-out/b'), 'utf8')).toBe('a\nb\n');
    const bad = await rbuild(['build', '--root', store, '--jobs', '0', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --jobs takes a positive whole number$/m);
  });

  describe('--network', () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = createServer((sock) => sock.end('reached-host\n'));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('host reaches the host loopback; none has no way out', async () => {
      const dir = join(work, 'net');
      writeContext(dir, { Dockerfile: `FROM ${busybox()}\nRUN nc -w 5 127.0.0.1 ${port} </dev/null > /got 2>&1; echo "exit=$?" >> /got\n` });
      const run = async (mode: string) => {
        const out = join(work, `net-${mode}`);
        const r = await rbuild(['build', '--root', store, '--progress=plain', '--no-cache', '--network', mode, '--output', `type=local,dest=${out}`, dir]);
        expect(r.code).toBe(0);
        return readFileSync(join(out, 'got'), 'utf8');
      };
      expect(await run('host')).toBe('reached-host\nexit=0\n');
      expect(await run('none')).toMatch(/exit=1\n$/);
    });
  });

  it('--pull=always fetches the base again; the default (missing) uses the stored one', async () => {
    const pulls = async (args: string[]) => {
      const r = await rbuild(['build', '--root', store, '--progress=json', ...args, ctx]);
      expect(r.stderr).not.toMatch(/"error"|^error/m);
      expect(r.code).toBe(0);
      return events(r.stderr).filter((e) => e.type === 'pull' && e.phase === 'start').map((e) => e.ref);
    };
    expect(await pulls([])).toEqual([]);
    expect(await pulls(['--pull=always'])).toEqual([busybox()]);
    expect(await pulls(['--pull'])).toEqual([busybox()]);
  });
});
