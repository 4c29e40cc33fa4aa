/**
 * The one-file-change rebuild as an unprivileged user: with the RUN steps
 * cached, COPY and WORKDIR steps are written without a mount and outside the
 * user namespace (rbuild-helper made unavailable proves it), and the layers
 * are the same bytes a build inside the namespace makes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirFor, TEST_USER } from '../support/unprivileged.js';
import { busybox, events, rbuild, startedKinds, writeContext } from './build-fixtures.js';

/** A helper path that does not exist: any step that needs the namespace fails. */
const NO_HELPER = { RBUILD_HELPER: '/nonexistent/rbuild-helper' };

const dockerfile = (copyIntoData: boolean) => [
  `FROM ${busybox()}`,
  'RUN mkdir -p /srv/data && echo base > /srv/data/base && chown 1000:1000 /srv/data',
  'WORKDIR /srv/www',
  'COPY app.txt ./',
  'COPY app.txt /usr/share/app/',
  'COPY <<EOF /etc/motd',
  'inline',
  'EOF',
  ...(copyIntoData ? ['COPY app.txt /srv/data/'] : []),
  '',
].join('\n');

describe('one-file-change rebuild', () => {
  it('COPY and WORKDIR after cached RUN steps need no helper and no mount, and make the same layers', async () => {
    const work = tempDirFor(TEST_USER, 'rbuild-rebuild-');
    const ctx = join(work, 'ctx');
    const meta = join(work, 'meta.json');
    const build = async (store: string, env: Record<string, string> = {}) => {
      const r = await rbuild(['build', '--root', store, '--progress=json', '--source-date-epoch', '0', '--metadata-file', meta, ctx], { env });
      const m = r.code === 0 ? JSON.parse(readFileSync(join(store, 'oci/blobs/sha256', JSON.parse(readFileSync(meta, 'utf8'))['containerimage.digest'].slice(7)), 'utf8')) : undefined;
      return { ...r, layers: (m?.layers ?? []).map((l: { digest: string }) => l.digest) as string[], ev: events(r.stdout + r.stderr) };
    };
    const started = (ev: Array<Record<string, unknown>>) => ev.filter((e) => e.type === 'step-start').map((e) => String(e.text).split(' ')[0]);

    writeContext(ctx, { Dockerfile: dockerfile(false), 'app.txt': 'one\n' });
    const cold = await build(join(work, 'a'));
    expect(cold.code).toBe(0);

    // The change: RUN comes from the cache, the COPYs run in this very process.
    writeContext(ctx, { 'app.txt': 'two\n' });
    const change = await build(join(work, 'a'), NO_HELPER);
    expect(change.stderr).not.toMatch(/error/i);
    expect(change.code).toBe(0);
    expect(started(change.ev)).toEqual(['COPY', 'COPY', 'COPY']);
    expect(change.ev.filter((e) => e.type === 'step-cached').length).toBe(2);

    // The same context built from scratch inside the namespace: the same layers, byte for byte.
    const fresh = await build(join(work, 'b'));
    expect(fresh.code).toBe(0);
    expect(change.layers).toEqual(fresh.layers);
    const blob = (d: string) => join(work, 'a/oci/blobs/sha256', d.slice(7));
    const listing = (d: string) => execFileSync('tar', ['--numeric-owner', '-tvf', blob(d)], { encoding: 'utf8' });
    expect(listing(change.layers.at(-2)!)).toMatch(/0\/0 .* usr\/share\/app\/app\.txt/);

    // A COPY into a directory owned by another id (copy-up must chown it): that needs the namespace.
    writeContext(ctx, { Dockerfile: dockerfile(true), 'app.txt': 'three\n' });
    const without = await build(join(work, 'a'), NO_HELPER);
    expect(without.code).not.toBe(0);
    const withHelper = await build(join(work, 'a'));
    expect(withHelper.code).toBe(0);
    expect(listing(withHelper.layers.at(-1)!)).toMatch(/1000\/1000 .* srv\/data\/\n.*0\/0 .* srv\/data\/app\.txt/);
  });

  it('a COPY of many files rerun for one changed file links the others and makes the layer a --no-cache build makes', async () => {
    const work = tempDirFor(TEST_USER, 'rbuild-reuse-');
    const ctx = join(work, 'ctx');
    const store = join(work, 'store');
    const meta = join(work, 'meta.json');
    const files: Record<string, string> = {};
    for (let d = 0; d < 4; d++) for (let f = 0; f < 50; f++) files[`files/d${d}/f${String(f).padStart(2, '0')}.txt`] = `file ${d}/${f}\n`;
    writeContext(ctx, {
      Dockerfile: [`FROM ${busybox()}`, 'COPY files/ /files/', 'RUN echo modified >> /files/d0/f00.txt && rm /files/d0/f01.txt', ''].join('\n'),
      ...files,
    });
    // The files' own mtimes (sub-second) stay below --source-date-epoch, so the layer carries them and the links must
    // keep them; only the destination directory, made at build time, is clamped.
    const aged = () => Object.keys(files).forEach((f, i) => utimesSync(join(ctx, f), 1_500_000_000, 1_500_000_000 + i + 0.123));
    aged();
    const build = async (...flags: string[]) => {
      const r = await rbuild(['build', '--root', store, '--progress=json', '--source-date-epoch', '1600000000', '--metadata-file', meta, ...flags, ctx]);
      expect(r.stderr).not.toMatch(/error/i);
      expect(r.code).toBe(0);
      const m = JSON.parse(readFileSync(join(store, 'oci/blobs/sha256', JSON.parse(readFileSync(meta, 'utf8'))['containerimage.digest'].slice(7)), 'utf8'));
      return { layers: (m.layers as Array<{ digest: string }>).map((l) => l.digest), started: startedKinds(r.stdout + r.stderr) };
    };
    const chains = join(store, 'snapshots/by-chain');
    /** The file `rel` in every committed snapshot that has it: its inode's link count and content. */
    const copies = (rel: string) => readdirSync(chains).map((c) => join(chains, c, 'fs/files', rel)).filter((p) => existsSync(p))
      .map((p) => ({ nlink: lstatSync(p).nlink, data: readFileSync(p, 'utf8') })).sort((a, b) => a.nlink - b.nlink || a.data.localeCompare(b.data));

    await build();
    expect(copies('d2/f07.txt')).toEqual([{ nlink: 1, data: 'file 2/7\n' }]);
    writeContext(ctx, { 'files/d3/f10.txt': 'changed\n' });
    aged();
    const change = await build();
    expect(change.started).toEqual(['COPY', 'RUN']);
    // An unchanged file is one inode in both COPY snapshots; the changed one is not.
    expect(copies('d2/f07.txt')).toEqual([{ nlink: 2, data: 'file 2/7\n' }, { nlink: 2, data: 'file 2/7\n' }]);
    expect(copies('d3/f10.txt')).toEqual([{ nlink: 1, data: 'changed\n' }, { nlink: 1, data: 'file 3/10\n' }]);
    // The RUNs on top wrote their own uppers: the shared inode of the file they appended to is untouched.
    expect(copies('d0/f00.txt')).toEqual([
      { nlink: 1, data: 'file 0/0\nmodified\n' }, { nlink: 1, data: 'file 0/0\nmodified\n' }, { nlink: 2, data: 'file 0/0\n' }, { nlink: 2, data: 'file 0/0\n' },
    ]);
    // The same context copied in full: the same COPY layer, byte for byte.
    const full = await build('--no-cache');
    expect(full.started).toEqual(['COPY', 'RUN']);
    expect(change.layers.slice(0, -1)).toEqual(full.layers.slice(0, -1));
  });
});
