/**
 * chroot isolation for real: rbuild runs as root inside `rbuild-helper deny-ns`, which confines it the way a
 * locked-down CI container does (Docker's default capabilities, seccomp failing unshare, namespace clone, setns
 * and mount with EPERM). The build must choose chroot by itself, produce the right image, and no RUN step may
 * see the registry credentials, the store or the job's environment.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { app, busybox } from './build-fixtures.js';

const helper = (): string => join(inject('appDir'), 'native/build/Release/rbuild-helper');

/** Runs rbuild as root under deny-ns with exactly `env`. */
function locked(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(helper(), ['deny-ns', '--', process.execPath, app(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Entries of a gzip layer: path -> `mode uid/gid`, and the text of the files under probe/. */
function layer(path: string): { meta: Map<string, string>; text: Map<string, string> } {
  const meta = new Map<string, string>();
  for (const line of execFileSync('tar', ['--numeric-owner', '-tvf', path], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    const f = line.split(/\s+/);
    meta.set(f.slice(5).join(' ').replace(/ -> .*$/, ''), `${f[0]} ${f[1]}`);
  }
  const text = new Map<string, string>();
  for (const name of meta.keys()) {
    if (name.startsWith('probe/') && !name.endsWith('/')) text.set(name, execFileSync('tar', ['-xOf', path, name], { encoding: 'utf8' }));
  }
  return { meta, text };
}

describe('chroot isolation in a container that forbids namespaces and mounts', () => {
  const work = mkdtempSync(join(tmpdir(), 'rbuild-iso-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('the helper confines its child as such a container does', () => {
    const out = execFileSync(helper(), ['deny-ns', '--', helper(), 'features'], { encoding: 'utf8' });
    expect(out).toMatch(/^userns 0 EPERM$/m);
    expect(out).toMatch(/^mountns 0 EPERM$/m);
    expect(out).toMatch(/^chroot 1$/m);
  });

  it('builds as root with --isolation auto: files, owners, modes, USER; steps see no credentials, store or job env', async () => {
    const store = join(work, 'store');
    const ctx = join(work, 'ctx');
    const dockerConfig = join(work, 'docker');
    const meta = join(work, 'meta.json');
    mkdirSync(ctx);
    mkdirSync(dockerConfig);
    const secret = 'fake-registry-secret-4711';
    writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { 'registry.example.com': { auth: Buffer.from(`ci:${secret}`).toString('base64') } } }));
    writeFileSync(
      join(ctx, 'Dockerfile'),
      [
        `FROM ${busybox()}`,
        'ENV GREETING=hello',
        'RUN mkdir -p /app/data /probe && echo hi > /app/data/hello.txt && chmod 640 /app/data/hello.txt && chown 1000:1000 /app/data/hello.txt',
        'RUN echo "app:x:1000:1000::/home/app:/bin/sh" >> /etc/passwd && echo "app:x:1000:" >> /etc/group && mkdir -p /home/app && chown app:app /home/app',
        // What a step could reach of the builder: the credentials, the store, the job's variables.
        `RUN env > /probe/env; (cat ${dockerConfig}/config.json; echo rc=$?) > /probe/cred 2>&1; (ls ${store}; echo rc=$?) > /probe/store 2>&1`,
        // A way out of a chroot(2) jail needs CAP_SYS_CHROOT; /dev has working nodes during the step.
        'RUN (chroot / /bin/true; echo rc=$?) > /probe/chroot 2>&1; head -c 5 /dev/zero | wc -c > /probe/dev; echo x > /dev/null',
        'USER app',
        'RUN id -u > /home/app/uid && touch /home/app/mine && (touch /etc/forbidden 2>/dev/null; echo rc=$?) > /home/app/etc-write',
        '',
      ].join('\n'),
    );
    const r = await locked(['build', '--root', store, '--isolation', 'auto', '--progress=plain', '--metadata-file', meta, '-t', 'iso:1', ctx], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: work,
      DOCKER_CONFIG: dockerConfig,
      REGISTRY_AUTH_FILE: join(dockerConfig, 'config.json'),
      CI_JOB_TOKEN: 'job-token-secret-0815',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^isolation: chroot: namespaces and mounts are not allowed here \(.*EPERM.*\)/m);

    const blob = (d: string) => join(store, 'oci/blobs/sha256', d.replace('sha256:', ''));
    const m = JSON.parse(readFileSync(blob(JSON.parse(readFileSync(meta, 'utf8'))['containerimage.digest']), 'utf8')) as { layers: Array<{ digest: string }> };
    const layers = m.layers.map((l) => layer(blob(l.digest)));
    expect(layers).toHaveLength(6);
    const [, files, users, probes, chroot, userStep] = layers;

    expect(files!.meta.get('app/data/hello.txt')).toBe('-rw-r----- 1000/1000');
    expect(users!.meta.get('home/app/')).toBe('drwxr-xr-x 1000/1000');
    expect(userStep!.meta.get('home/app/mine')).toMatch(/^-rw-r--r-- 1000\/1000$/);
    expect(userStep!.meta.has('etc/forbidden')).toBe(false);

    const env = probes!.text.get('probe/env')!;
    expect(env).toMatch(/^GREETING=hello$/m);
    expect(env).toMatch(/^PATH=/m);
    expect(env).not.toMatch(/CI_JOB_TOKEN|job-token-secret|DOCKER_CONFIG|REGISTRY_AUTH_FILE|HOME=\/tmp/);
    expect(probes!.text.get('probe/cred')).not.toContain(secret);
    expect(probes!.text.get('probe/cred')).toMatch(/rc=1/);
    expect(probes!.text.get('probe/store')).toMatch(/rc=1/);
    expect(chroot!.text.get('probe/chroot')).toMatch(/Operation not permitted[\s\S]*rc=1/);
    expect(chroot!.text.get('probe/dev')?.trim()).toBe('5');

    // The helper's /dev nodes and /etc files are never part of a layer.
    for (const l of layers.slice(1)) {
      for (const name of l.meta.keys()) expect(name).not.toMatch(/^dev\/|^etc\/(hosts|resolv\.conf)$/);
    }
  });

  it('rbuild info reports the chroot isolation and why', async () => {
    const r = await locked(['info', '--format', 'json'], { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work });
    expect(r.code, r.stderr).toBe(0);
    const items = (JSON.parse(r.stdout) as { items: Array<{ key: string; ok: boolean; value: string }> }).items;
    expect(items.find((i) => i.key === 'isolation')).toMatchObject({ ok: true, value: expect.stringMatching(/^chroot: namespaces and mounts are not allowed/) });
  });

  it('RUN --mount of a directory fails with one clear line, a secret works; --isolation chroot as root elsewhere uses a PID namespace', async () => {
    const store = join(work, 'store2');
    const ctx = join(work, 'ctx2');
    mkdirSync(ctx);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work };
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${busybox()}\nRUN --mount=type=tmpfs,target=/scratch true\n`);
    const bad = await locked(['build', '--root', store, '--progress=plain', ctx], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/RUN --mount \(\/scratch\) needs mount\(2\), which chroot isolation does not have/);

    // A secret is a read-only file: copied in for the step, gone from the layer.
    const secretFile = join(work, 'token');
    writeFileSync(secretFile, 'build-secret-0042');
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${busybox()}\nRUN --mount=type=secret,id=tok test "$(cat /run/secrets/tok)" = build-secret-0042 && touch /used\n`);
    const metaS = join(work, 'meta-secret.json');
    const sec = await locked(['build', '--root', store, '--progress=plain', '--secret', `id=tok,src=${secretFile}`, '--metadata-file', metaS, ctx], env);
    expect(sec.code, sec.stderr).toBe(0);
    const blobS = (d: string) => join(store, 'oci/blobs/sha256', d.replace('sha256:', ''));
    const ms = JSON.parse(readFileSync(blobS(JSON.parse(readFileSync(metaS, 'utf8'))['containerimage.digest']), 'utf8')) as { layers: Array<{ digest: string }> };
    expect([...layer(blobS(ms.layers[1]!.digest)).meta.keys()]).toEqual(['used']);

    // Not confined: the helper may create a PID namespace, so the step is PID 1 there.
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${busybox()}\nRUN echo $$ > /pid\n`);
    const meta = join(work, 'meta2.json');
    const r = await new Promise<{ code: number; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [app(), 'build', '--root', store, '--isolation', 'chroot', '--progress=plain', '--metadata-file', meta, ctx], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code: code ?? -1, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^isolation: chroot: asked for with --isolation chroot/m);
    const blob = (d: string) => join(store, 'oci/blobs/sha256', d.replace('sha256:', ''));
    const m = JSON.parse(readFileSync(blob(JSON.parse(readFileSync(meta, 'utf8'))['containerimage.digest']), 'utf8')) as { layers: Array<{ digest: string }> };
    expect(execFileSync('tar', ['-xOf', blob(m.layers[1]!.digest), 'pid'], { encoding: 'utf8' }).trim()).toBe('1');
  });
});
