import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { nextChainId } from './chain-id.js';
import { createSnapshotter, detectDriver } from './create.js';
import { DiffIdMismatchError, LayerSecurityError } from './errors.js';
import type { Digest } from './snapshotter.js';
import { fileSink } from './testing/file-sink.js';
import { makeTar, type MakeTarEntry } from './testing/make-tar.js';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(join(tmpdir(), 'rbuild-st-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const tarLayer = (entries: MakeTarEntry[], parent?: Digest) => {
  const t = makeTar(entries);
  const l = { chainId: nextChainId(parent, sha(t)), diffId: sha(t), mediaType: 'application/vnd.oci.image.layer.v1.tar', open: async () => Readable.from([t]) };
  return parent === undefined ? l : { ...l, parent };
};

describe('snapshot store', () => {
  it('detects overlay as root', async () => {
    expect(await detectDriver(tmp())).toBe('overlay');
  });

  for (const driver of ['overlay', 'copy'] as const) {
    it(`${driver}: mounts a chain of 200 layers (folded past the mount option limit)`, async () => {
      const root = tmp();
      const s = await createSnapshotter({ root, driver });
      let parent: Digest | undefined;
      for (let i = 0; i < 200; i++) {
        const entries: MakeTarEntry[] = [{ path: 'd', type: 'dir' }, { path: `d/f${i}`, body: String(i) }];
        if (i === 100) entries.push({ path: 'd/.wh.f50', body: '' });
        if (i === 150) entries.push({ path: 'd/f10', body: 'changed' });
        const l = tarLayer(entries, parent);
        await s.unpack(l);
        parent = l.chainId;
      }
      const a = await s.prepare('long', parent);
      const names = fs.readdirSync(join(a.root, 'd'));
      expect(names).toHaveLength(199);
      expect(names).not.toContain('f50');
      expect(fs.readFileSync(join(a.root, 'd/f10'), 'utf8')).toBe('changed');
      expect(fs.readFileSync(join(a.root, 'd/f199'), 'utf8')).toBe('199');
      fs.writeFileSync(join(a.root, 'd/new'), 'n');
      const sink = fileSink(join(root, 'blobs'));
      const layer = await s.diff('long', sink, { compression: 'none' });
      const listing = execFileSync('tar', ['-tf', sink.path(layer!.digest)], { encoding: 'utf8' }).trim().split('\n');
      expect(listing).toEqual(['d/', 'd/new']);
      await s.remove('long');
      if (driver === 'overlay') {
        expect(fs.readdirSync(join(root, 'snapshots/flat'))).toHaveLength(1);
        // The next step (one more layer) reuses the same flattened bottom.
        const next = tarLayer([{ path: 'd/next', body: 'x' }], parent);
        await s.unpack(next);
        const b = await s.prepare('next', next.chainId);
        expect(fs.readdirSync(join(b.root, 'd'))).toHaveLength(200);
        await s.remove('next');
        expect(fs.readdirSync(join(root, 'snapshots/flat'))).toHaveLength(1);
      }
    });
  }

  it('overlay: writable snapshots are mounted volatile (no syncfs of the whole file system at unmount, as buildah), views are not', async () => {
    const root = tmp();
    const s = await createSnapshotter({ root, driver: 'overlay' });
    const a = tarLayer([{ path: 'f', body: 'a' }]);
    const b = tarLayer([{ path: 'g', body: 'b' }], a.chainId);
    await s.unpack(a);
    await s.unpack(b);
    const options = (mountPoint: string): string => {
      const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === mountPoint);
      return line?.split(' - ')[1]?.split(' ')[2] ?? '';
    };
    const rw = await s.prepare('rw', b.chainId);
    const view = await s.view('ro', b.chainId);
    try {
      expect(options(rw.root)).toMatch(/(^|,)(fsync=)?volatile(,|$)/);
      expect(options(view.root)).not.toMatch(/volatile/);
      // Its upper is still what the diff sees and commit keeps.
      fs.writeFileSync(join(rw.root, 'new'), 'n');
      const layer = await s.diff('rw', fileSink(join(root, 'blobs')), { compression: 'none' });
      const c = nextChainId(b.chainId, layer!.diffId);
      await s.commit('rw', c);
      const again = await s.prepare('again', c);
      expect(fs.readFileSync(join(again.root, 'new'), 'utf8')).toBe('n');
      await s.remove('again');
    } finally {
      await s.remove('rw');
      await s.remove('ro');
    }
  });

  it('unpack is idempotent, needs its parent, and leaves nothing behind on failure', async () => {
    const root = tmp();
    const s = await createSnapshotter({ root, driver: 'overlay' });
    const l1 = tarLayer([{ path: 'a', body: 'a' }]);
    await s.unpack(l1);
    await s.unpack(l1);
    expect(await s.exists(l1.chainId)).toBe(true);
    const orphan = tarLayer([{ path: 'b', body: 'b' }], sha(Buffer.from('nope')));
    await expect(s.unpack(orphan)).rejects.toMatchObject({ code: 'PARENT_MISSING' });
    const bad = { ...tarLayer([{ path: 'c', body: 'c' }], l1.chainId), diffId: sha(Buffer.from('other')) };
    await expect(s.unpack(bad)).rejects.toBeInstanceOf(DiffIdMismatchError);
    const hostile = tarLayer([{ path: '../x', body: 'x' }], l1.chainId);
    await expect(s.unpack(hostile)).rejects.toBeInstanceOf(LayerSecurityError);
    expect(await s.exists(bad.chainId)).toBe(false);
    expect(fs.readdirSync(join(root, 'snapshots/tmp'))).toEqual([]);
    expect(fs.readdirSync(join(root, 'snapshots/by-chain'))).toEqual([l1.chainId.slice(7)]);
  });

  for (const driver of ['overlay', 'copy'] as const) {
    it(`${driver}: an unchanged snapshot diffs to null; keys are exclusive; views are read-only`, async () => {
      const root = tmp();
      const s = await createSnapshotter({ root, driver });
      const l1 = tarLayer([{ path: 'a', body: 'a' }, { path: 'dir', type: 'dir' }]);
      await s.unpack(l1);
      const a = await s.prepare('k', l1.chainId);
      expect(fs.readFileSync(join(a.root, 'a'), 'utf8')).toBe('a');
      await expect(s.prepare('k', l1.chainId)).rejects.toMatchObject({ code: 'KEY_EXISTS' });
      expect(await s.diff('k', fileSink(join(root, 'blobs')), { compression: 'gzip' })).toBeNull();
      await s.remove('k');
      await s.remove('k');
      const empty = await s.prepare('k2', undefined);
      expect(fs.readdirSync(empty.root)).toEqual([]);
      await s.remove('k2');
      if (driver === 'overlay') {
        const v = await s.view('v', l1.chainId);
        expect(() => fs.writeFileSync(join(v.root, 'x'), 'x')).toThrow(/EROFS/);
        await s.remove('v');
      }
    });
  }

  it('copy: finds a same-size rewrite with its mtime put back (by content), and leaves untouched files out', async () => {
    const root = tmp();
    const s = await createSnapshotter({ root, driver: 'copy' });
    const l1 = tarLayer([{ path: 'same', body: 'aaaa', mtime: 5000 }, { path: 'untouched', body: 'u', mtime: 5000 }, { path: 'meta', body: 'm', mtime: 5000 }]);
    await s.unpack(l1);
    const a = await s.prepare('k', l1.chainId);
    fs.writeFileSync(join(a.root, 'same'), 'bbbb');
    fs.utimesSync(join(a.root, 'same'), 5000, 5000);
    fs.chmodSync(join(a.root, 'meta'), 0o600);
    const sink = fileSink(join(root, 'blobs'));
    const layer = await s.diff('k', sink, { compression: 'none' });
    const listing = execFileSync('tar', ['-tf', sink.path(layer!.digest)], { encoding: 'utf8' }).trim().split('\n');
    expect(listing).toEqual(['meta', 'same']);
    await s.remove('k');
  });

  it('stops an unpack when its signal is aborted, leaving nothing', async () => {
    const root = tmp();
    const s = await createSnapshotter({ root, driver: 'overlay' });
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(s.unpack(tarLayer([{ path: 'a', body: 'a' }]), ac.signal)).rejects.toThrow('stop');
    expect(fs.readdirSync(join(root, 'snapshots/tmp'))).toEqual([]);
    expect(fs.readdirSync(join(root, 'snapshots/by-chain'))).toEqual([]);
  });

  it('diff is deterministic and clamps mtimes to SOURCE_DATE_EPOCH', async () => {
    const digests: string[] = [];
    for (let i = 0; i < 2; i++) {
      const root = tmp();
      const s = await createSnapshotter({ root, driver: 'overlay' });
      const a = await s.prepare('k', undefined);
      fs.mkdirSync(join(a.root, 'app'));
      fs.writeFileSync(join(a.root, 'app/x'), 'x'.repeat(3 << 20));
      fs.writeFileSync(join(a.root, 'app/old'), 'o');
      fs.utimesSync(join(a.root, 'app/old'), 100, 100);
      const sink = fileSink(join(root, 'blobs'));
      const l = await s.diff('k', sink, { compression: 'gzip', sourceDateEpoch: 1_000_000 });
      digests.push(l!.digest);
      const listing = execFileSync('tar', ['--full-time', '-tvzf', sink.path(l!.digest)], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
      expect(listing).toMatch(/1970-01-12 13:46:40 app\/x/);
      expect(listing).toMatch(/1970-01-01 00:01:40 app\/old/);
      execFileSync('gzip', ['-t', sink.path(l!.digest)]);
      await s.remove('k');
    }
    expect(digests[0]).toBe(digests[1]);
  });

  // As BuildKit's overlay differ: copy-ups that changed nothing stay out of the layer (and of the
  // committed snapshot); a directory goes in when its mode, owner or xattrs changed, or as a parent.
  for (const driver of ['overlay', 'fuse-overlayfs', 'copy'] as const) {
    it(`${driver}: copied-up but unchanged entries are not in the layer, parents of changes are`, async () => {
      const root = tmp();
      const s = await createSnapshotter({ root, driver });
      const base = tarLayer([
        ...['etc', 'run', 'usr', 'usr/share', 'usr/share/x', 'opt', 'srv'].map((path) => ({ path, type: 'dir' as const, mtime: 5000 })),
        { path: 'etc/passwd', body: 'root', mtime: 5000 },
        { path: 'etc/big', body: 'b'.repeat(100_000), mtime: 5000 },
        { path: 'opt/tool', body: 't', mode: 0o755, mtime: 5000 },
        { path: 'srv/keep', body: 'k', mtime: 5000 },
      ]);
      await s.unpack(base);
      const a = await s.prepare('k', base.chainId);
      const p = (x: string) => join(a.root, x);
      fs.writeFileSync(p('etc/tmp'), 't'); // a temp file made and removed: etc is copied up, its mtime moves
      fs.unlinkSync(p('etc/tmp'));
      fs.utimesSync(p('run'), 7000, 7000); // only the times of a directory
      fs.chmodSync(p('etc/passwd'), 0o644); // the same mode: a copy-up of the whole file
      fs.chownSync(p('etc/big'), 0, 0); // the same owner
      fs.writeFileSync(p('usr/share/x/new'), 'n'); // a change three levels down
      fs.chmodSync(p('srv'), 0o700); // a directory's mode: a real change
      fs.chmodSync(p('opt/tool'), 0o700); // a file's mode: a real change
      const sink = fileSink(join(root, 'blobs'));
      const layer = await s.diff('k', sink, { compression: 'none' });
      const listing = execFileSync('tar', ['-tf', sink.path(layer!.digest)], { encoding: 'utf8' }).trim().split('\n');
      expect(listing).toEqual(['opt/', 'opt/tool', 'srv/', 'usr/', 'usr/share/', 'usr/share/x/', 'usr/share/x/new']);
      const top = nextChainId(base.chainId, layer!.diffId);
      await s.commit('k', top);
      // The committed snapshot is what the layer extracts to: etc and run keep the lower's times.
      const v = await s.view('v', top);
      expect(fs.statSync(join(v.root, 'etc')).mtimeMs).toBe(5_000_000);
      expect(fs.statSync(join(v.root, 'run')).mtimeMs).toBe(5_000_000);
      expect(fs.statSync(join(v.root, 'srv')).mode & 0o7777).toBe(0o700);
      expect(fs.readFileSync(join(v.root, 'usr/share/x/new'), 'utf8')).toBe('n');
      await s.remove('v');
      if (driver !== 'copy') {
        const upper = join(root, 'snapshots/by-chain', top.slice(7), 'fs');
        expect(fs.readdirSync(upper).sort()).toEqual(['opt', 'srv', 'usr']);
        expect(fs.readdirSync(join(upper, 'opt'))).toEqual(['tool']);
      }
    });
  }
});
