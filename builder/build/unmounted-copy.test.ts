// COPY into an unmounted snapshot (upper dir + lower view, no mount) makes the
// same layer, byte for byte, as COPY into a mounted overlay snapshot: same
// copied-up parents (owner, mode, xattrs, times), symlinks followed inside the
// root, same errors. Runs as root with the real overlay driver.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSink } from '../../snapshotter/testing/file-sink.js';
import type { MakeTarEntry } from '../../snapshotter/testing/make-tar.js';
import { overlayStoreWith } from '../../snapshotter/testing/overlay-store.js';
import { UpperWriter } from '../../snapshotter/upper-writer.js';
import { removeTempDirs, tempDir } from '../../test/support/unprivileged.js';
import { BuildContext } from './context.js';
import { copyInto, ensureDir, type PathResolver } from './copy.js';

afterAll(removeTempDirs);
const tmp = (): string => tempDir('rbuild-umc-');
const LOWER_TIME = 1_000_000;
const SOURCE_TIME = 1_500_000;
/** Times written "now" clamp to this; lower and source times stay as they are. */
const SDE = 2_000_000;

const userXattr = { 'user.note': Buffer.from('kept') };
const lowers: MakeTarEntry[][] = [
  [
    { path: 'usr', type: 'dir' },
    { path: 'usr/bin', type: 'dir' },
    { path: 'usr/bin/sh', body: 'sh' },
    { path: 'usr/share', type: 'dir', mode: 0o750, uid: 0, gid: 0, xattrs: userXattr },
    { path: 'usr/share/doc', type: 'dir', mode: 0o711 },
    { path: 'bin', type: 'symlink', linkname: 'usr/bin' },
    { path: 'abs', type: 'symlink', linkname: '/usr/share' },
    { path: 'etc', type: 'dir' },
    { path: 'etc/conf', body: 'old' },
    { path: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\n' },
    { path: 'opq', type: 'dir' },
    { path: 'opq/old', body: 'gone' },
    { path: 'app', type: 'dir' },
    { path: 'app/sub', type: 'dir', mode: 0o700 },
    { path: 'app/conf', body: 'a file where the context has a directory' },
  ].map((e) => ({ mtime: LOWER_TIME, ...e }) as MakeTarEntry),
  [
    // An opaque directory and a whiteout in the top layer: neither may leak into a copy-up.
    { path: 'opq', type: 'dir', mtime: LOWER_TIME },
    { path: 'opq/.wh..wh..opq', body: '' },
    { path: 'opq/new', body: 'new', mtime: LOWER_TIME },
    { path: 'etc/.wh.conf', body: '' },
  ],
];

async function store() {
  const { root, s, parent } = await overlayStoreWith(tmp(), lowers);
  return { s, parent, sink: fileSink(join(root, 'blobs')) };
}

function context(): BuildContext {
  const dir = tmp();
  const files: Record<string, string> = { share: 's', 'a.txt': 'a', 'b.txt': 'b', 'd/x.txt': 'x', 'd/sub/y.txt': 'y', 'd/conf/z.txt': 'z' };
  for (const [name, body] of Object.entries(files)) {
    fs.mkdirSync(join(dir, name, '..'), { recursive: true });
    fs.writeFileSync(join(dir, name), body);
  }
  for (const p of ['a.txt', 'b.txt', 'd/x.txt', 'd/sub/y.txt', 'd/conf/z.txt', 'd/sub', 'd/conf', 'd']) fs.utimesSync(join(dir, p), SOURCE_TIME, SOURCE_TIME);
  return new BuildContext(dir);
}

type Work = (root: string, resolve?: PathResolver) => Promise<void>;
type Outcome = { layer?: string; listing?: string[]; error?: string };

async function layerOf(sink: ReturnType<typeof fileSink>, info: { digest: string } | null): Promise<Outcome> {
  if (!info) return {};
  const listing = execFileSync('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-tvf', sink.path(info.digest)], { encoding: 'utf8' })
    .trim().split('\n').map((l) => l.replace(/\s+/g, ' '));
  return { layer: info.digest, listing };
}

/** Runs `work` on a mounted snapshot and on an unmounted one of the same chain. */
async function both(work: Work): Promise<{ mounted: Outcome; unmounted: Outcome }> {
  const { s, parent, sink } = await store();
  const opts = { compression: 'none' as const, sourceDateEpoch: SDE };
  const mounted = await (async () => {
    const a = await s.prepare('m', parent);
    try {
      await work(a.root);
      return await layerOf(sink, await s.diff('m', sink, opts));
    } catch (e) {
      return { error: `${(e as { code?: string }).code}` };
    } finally {
      await s.remove('m');
    }
  })();
  const unmounted = await (async () => {
    const u = await s.prepareUnmounted('u', parent);
    try {
      const w = new UpperWriter(u.upper, u.lower);
      await work(u.upper, (p, f) => w.resolve(p, f));
      w.finish();
      return await layerOf(sink, await s.diff('u', sink, opts));
    } catch (e) {
      return { error: `${(e as { code?: string }).code}` };
    } finally {
      await s.remove('u');
    }
  })();
  return { mounted, unmounted };
}

const copy = (sources: string[], dest: string, workdir = '/'): Work => async (root, resolve) => {
  const ctx = context();
  await copyInto(ctx, await ctx.resolve(sources), { root, dest, workdir, ...(resolve ? { resolve } : {}) });
};

describe('COPY into an unmounted snapshot', () => {
  const cases: Array<[string, Work, (o: Outcome) => void]> = [
    ['a file at the root', copy(['a.txt'], '/app.txt'), (o) => expect(o.listing).toHaveLength(1)],
    ['into existing directories (copied up with owner, mode, xattrs, times)', copy(['a.txt'], '/usr/share/doc/'), (o) => {
      expect(o.listing?.join('\n')).toMatch(/drwxr-x---\* 0\/0 0 1970-01-12 \d\d:\d\d usr\/share\//);
      expect(o.listing).toHaveLength(4);
    }],
    ['through a relative directory symlink', copy(['a.txt'], '/bin/tool'), (o) => expect(o.listing?.join('\n')).toMatch(/usr\/bin\/tool/)],
    ['through an absolute symlink, relative to WORKDIR', copy(['a.txt'], 'abs/x', '/'), (o) => expect(o.listing?.join('\n')).toMatch(/usr\/share\/x/)],
    ['onto an existing directory without a trailing slash', copy(['a.txt'], '/app'), (o) => expect(o.listing?.join('\n')).toMatch(/app\/a.txt/)],
    ['a directory merged into existing ones', copy(['d'], '/app/'), (o) => expect(o.listing?.join('\n')).toMatch(/app\/sub\/y.txt/)],
    ['over a lower file, and over a whited-out one', copy(['a.txt', 'b.txt'], '/etc/'), (o) => expect(o.listing).toHaveLength(3)],
    ['a directory source onto a lower file (an error)', copy(['d'], '/etc/passwd/'), (o) => expect(o.error).toBe('DEST_NOT_DIR')],
    ['a directory over a lower file (opaque)', copy(['d'], '/app/'), (o) => expect(o.listing?.join('\n')).toMatch(/app\/conf\/\.wh\.\.wh\.\.opq/)],
    ['into an opaque lower directory', copy(['a.txt'], '/opq/'), () => undefined],
    ['a file over a lower directory (an error)', copy(['share'], '/usr/'), (o) => expect(o.error).toBe('DEST_IS_DIR')],
    ['a symlink destination replaced', copy(['a.txt'], '/bin'), () => undefined],
    ['an existing WORKDIR (no layer)', async (root, resolve) => ensureDir(root, '/usr/share/doc', undefined, resolve), (o) => expect(o).toEqual({})],
    ['a new nested WORKDIR', async (root, resolve) => ensureDir(root, '/usr/share/doc/new/deeper', undefined, resolve), (o) => expect(o.listing).toHaveLength(5)],
    ['a WORKDIR through a file (an error)', async (root, resolve) => ensureDir(root, '/etc/passwd', undefined, resolve), (o) => expect(o.error).toBe('DEST_NOT_DIR')],
  ];
  for (const [name, work, check] of cases) {
    it(name, async () => {
      const r = await both(work);
      expect(r.unmounted).toEqual(r.mounted);
      check(r.mounted);
    });
  }
});
