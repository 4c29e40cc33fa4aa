/**
 * Blob progress against the real registry, as the unprivileged user: `rbuild
 * pull --progress=json` writes one event per line for every blob, `rbuild push
 * --progress=plain` a start and a done line per uploaded blob (`exists` the
 * second time), a build whose base is pulled shows the pull's blob lines, and
 * in a terminal (a pty from script(1)) the live view is redrawn in place and
 * ends with one line per blob.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { removeTempDirs, runAs, tempDirFor, TEST_USER, userInfo } from '../support/unprivileged.js';

afterAll(removeTempDirs);

const app = () => join(inject('appDir'), 'dist/builder/cli/main.js');
const registry = () => inject('registry');
const rbuild = (args: string[]) => runAs(TEST_USER, [process.execPath, app(), ...args]);
const base = () => `${registry()}/library/busybox:latest`;

/** The digests of the base image's config and layers, as the registry serves them (skopeo, the peer). */
function baseBlobs(): string[] {
  const m = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${base()}`], { encoding: 'utf8' })) as {
    config: { digest: string }; layers: Array<{ digest: string }>;
  };
  return [m.config.digest, ...m.layers.map((l) => l.digest)].sort();
}

const short = (d: string): string => d.slice(7, 19);

interface JsonEvent { time: string; type: string; action?: string; ref?: string; digest?: string; status?: string; current?: number; total?: number; phase?: string }

describe('blob progress of pulls and pushes', () => {
  let work: string;
  let ctx: string;
  beforeAll(() => {
    work = tempDirFor(TEST_USER, 'rbuild-progress-');
    // A build context whose base comes from the registry and whose one step needs the namespace.
    ctx = join(work, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${base()}\nRUN echo built > /built\n`);
    const { uid, gid } = userInfo(TEST_USER);
    chownSync(ctx, uid, gid);
    chownSync(join(ctx, 'Dockerfile'), uid, gid);
  });

  it('pull --progress=json: start and done events for every blob, stable fields, then the result', async () => {
    const root = join(work, 'json-store');
    const res = await rbuild(['pull', '--progress=json', '--root', root, base()]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe(`${base()}\n`);
    const events = res.stderr.trim().split('\n').map((l) => JSON.parse(l) as JsonEvent);
    expect(events[0]).toMatchObject({ type: 'pull', ref: base(), phase: 'start' });
    expect(events.at(-1)).toMatchObject({ type: 'result', tags: [base()] });
    expect(events.at(-1)!).toHaveProperty('digest', expect.stringMatching(/^sha256:[0-9a-f]{64}$/));
    const blobs = events.filter((e) => e.type === 'blob');
    for (const e of blobs) {
      expect(Object.keys(e).sort()).toEqual(['action', 'current', 'digest', 'ref', 'status', 'time', 'total', 'type']);
      expect(e).toMatchObject({ action: 'pull', ref: base() });
      expect(e.current).toBeLessThanOrEqual(e.total!);
      expect(Number.isNaN(Date.parse(e.time))).toBe(false);
    }
    const digests = baseBlobs();
    expect([...new Set(blobs.filter((e) => e.status === 'start').map((e) => e.digest))].sort()).toEqual(digests);
    const done = blobs.filter((e) => e.status === 'done');
    expect(done.map((e) => e.digest).sort()).toEqual(digests);
    for (const e of done) expect(e.current).toBe(e.total);
    // Every blob's events in order: start, progress..., done.
    for (const d of digests) {
      const mine = blobs.filter((e) => e.digest === d).map((e) => e.status);
      expect(mine[0]).toBe('start');
      expect(mine.at(-1)).toBe('done');
      expect(mine.slice(1, -1).every((s) => s === 'progress')).toBe(true);
    }
    expect(events.find((e) => e.type === 'pull' && e.phase === 'done')).toBeDefined();

    // Pulled again: nothing moves, each blob is one `exists` event.
    const again = await rbuild(['pull', '--progress=json', '--root', root, base()]);
    expect(again.code, again.stderr).toBe(0);
    const statuses = again.stderr.trim().split('\n').map((l) => JSON.parse(l) as JsonEvent).filter((e) => e.type === 'blob');
    expect(statuses.map((e) => `${e.digest} ${e.status}`).sort()).toEqual(digests.map((d) => `${d} exists`));
  });

  it('push --progress=plain: a start and a done line per uploaded blob, `exists` on the second push; digest on stdout', async () => {
    const root = join(work, 'push-store');
    expect((await rbuild(['pull', '-q', '--root', root, base()])).code).toBe(0);
    const dest = `${registry()}/e2e/progress-push:1`;
    const res = await rbuild(['push', '--progress=plain', '--root', root, base(), dest]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^${dest.replace(/[.:/]/g, '\\$&')}@sha256:[0-9a-f]{64}\\n$`));
    const lines = res.stderr.split('\n');
    expect(lines[0]).toBe(`pushing ${dest}`);
    for (const d of baseBlobs()) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^push ${short(d)}: start \\d+(\\.\\d)? (B|KiB|MiB)$`)));
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^push ${short(d)}: done \\d+(\\.\\d)? (B|KiB|MiB) \\d+\\.\\ds$`)));
    }
    expect(res.stderr).toMatch(new RegExp(`^pushed ${dest.replace(/[.:/]/g, '\\$&')}@sha256:[0-9a-f]{64}$`, 'm'));
    expect(res.stderr).not.toContain('\x1b['); // plain: no escapes for CI logs

    const again = await rbuild(['push', '--progress=plain', '--root', root, base(), dest]);
    expect(again.code, again.stderr).toBe(0);
    for (const d of baseBlobs()) expect(again.stderr).toContain(`push ${short(d)}: exists\n`);
    expect(again.stderr).not.toMatch(/: (start|done) /);

    const quiet = await rbuild(['push', '-q', '--root', root, base(), dest]);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });

  it('a build whose base is pulled, then pushed, shows the blob lines of both in plain mode', async () => {
    const dest = `${registry()}/e2e/progress-build:1`;
    const res = await rbuild(['build', '--progress=plain', '--push', '--root', join(work, 'build-store'), '-t', dest, ctx]);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stderr.split('\n');
    const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
    const pulling = at(new RegExp(`^pulling ${base().replace(/[.:/]/g, '\\$&')}$`));
    const pulled = at(/^pulled .* \(1 layers, /);
    const step = at(/^#1 \[stage-0 1\/1\] RUN echo built/);
    expect(pulling).toBeGreaterThanOrEqual(0);
    for (const d of baseBlobs()) {
      const start = lines.indexOf(lines.find((l) => l.startsWith(`pull ${short(d)}: start `))!);
      const done = lines.indexOf(lines.find((l) => l.startsWith(`pull ${short(d)}: done `))!);
      expect(start).toBeGreaterThan(pulling);
      expect(done).toBeGreaterThan(start);
      expect(done).toBeLessThan(pulled);
    }
    expect(step).toBeGreaterThan(pulled);
    // --push: the new layer and the config are uploaded (the base layer too: a fresh repository), each a start and a done line.
    const pushing = lines.indexOf(`pushing ${dest}`);
    const pushed = at(/^pushed .*@sha256:[0-9a-f]{64}$/);
    expect(pushing).toBeGreaterThan(step);
    const pushLines = lines.slice(pushing + 1, pushed);
    expect(pushLines.filter((l) => /^push [0-9a-f]{12}: start /.test(l))).toHaveLength(3);
    expect(pushLines.filter((l) => /^push [0-9a-f]{12}: done .* \d+\.\ds$/.test(l))).toHaveLength(3);
  });

  it('in a terminal: the pull is drawn live, then left as one line per blob', async () => {
    const root = join(work, 'tty-store');
    // script(1) runs the command on a pty: stderr is a terminal, so auto is tty.
    const cmd = `${process.execPath} ${app()} pull --root ${root} ${base()}`;
    const res = await runAs(TEST_USER, ['script', '-qec', cmd, '/dev/null'], { env: { COLUMNS: '100', LINES: '30' } });
    expect(res.code, res.stdout).toBe(0);
    const screen = res.stdout;
    expect(screen).toContain(`=> pulling ${base()}`);
    expect(screen).toMatch(/\x1b\[\d+A\x1b\[J/); // the live area is erased and redrawn in place
    const plain = screen.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
    expect(plain).toMatch(new RegExp(`^pulled ${base().replace(/[.:/]/g, '\\$&')} \\(1 layers, .*\\) \\d+\\.\\ds$`, 'm'));
    for (const d of baseBlobs()) expect(plain).toMatch(new RegExp(`^  ${short(d)} done \\d+(\\.\\d)? (B|KiB|MiB) \\d+\\.\\ds$`, 'm'));
    expect(plain).toMatch(new RegExp(`^${base().replace(/[.:/]/g, '\\$&')}$`, 'm')); // stdout: the name, as before
  });

  it('in a terminal, a build shows its base pull live, then its steps', async () => {
    const cmd = `${process.execPath} ${app()} build --root ${join(work, 'tty-build-store')} ${ctx}`;
    const res = await runAs(TEST_USER, ['script', '-qec', cmd, '/dev/null']);
    expect(res.code, res.stdout).toBe(0);
    expect(res.stdout).toContain(`=> pulling ${base()}`);
    const plain = res.stdout.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
    const pulled = plain.search(new RegExp(`^pulled ${base().replace(/[.:/]/g, '\\$&')} \\(1 layers`, 'm'));
    const step = plain.search(/^\[stage-0 1\/1\] RUN echo built/m);
    expect(pulled).toBeGreaterThanOrEqual(0);
    expect(step).toBeGreaterThan(pulled);
    for (const d of baseBlobs()) expect(plain.slice(pulled, step)).toMatch(new RegExp(`^  ${short(d)} done `, 'm'));
  });
});
