/**
 * The one-file-change rebuild as an unprivileged user: with the RUN steps
 * cached, COPY and WORKDIR steps are written without a mount and outside the
 * user namespace (rbuild-helper made unavailable proves it), and the layers
 * are the same bytes a build inside the namespace makes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirFor, TEST_USER } from '../support/unprivileged.js';
import { busybox, events, rbuild, writeContext } from './build-fixtures.js';

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
});
