import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { DiffIdMismatchError, LayerSecurityError } from './errors.js';
import { extractLayer, extractTar } from './extract.js';
import { nativeFs } from './native-fs.js';
import { makeTar, type MakeTarEntry } from './testing/make-tar.js';
import { treeManifest } from './testing/tree-manifest.js';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(join(tmpdir(), 'rbuild-x-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');

describe('extractTar', () => {
  it('keeps owners, modes, times, links, xattrs, devices and empty dirs', async () => {
    const root = join(tmp(), 'fs');
    fs.mkdirSync(root);
    const tar = makeTar([
      { path: 'etc', type: 'dir', mode: 0o755, mtime: 111 },
      { path: 'etc/conf', body: 'hello', uid: 1000, gid: 1001, mode: 0o640, mtime: 222 },
      { path: 'etc/hard', type: 'hardlink', linkname: 'etc/conf' },
      { path: 'bin/ping', body: 'elf', mode: 0o4755, xattrs: { 'security.capability': cap, 'user.note': Buffer.from('n') } },
      { path: 'tmp', type: 'dir', mode: 0o1777, mtime: 333 },
      { path: 'sgid', type: 'dir', mode: 0o2775, uid: 5, gid: 6 },
      { path: 'empty', type: 'dir', mode: 0o700 },
      { path: 'link', type: 'symlink', linkname: '/etc/conf', uid: 7, gid: 8 },
      { path: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
      { path: 'fifo', type: 'fifo', mode: 0o600 },
      { path: 'big/zeros', body: Buffer.alloc(3 << 20) },
    ]);
    const r = await extractTar([tar], root);
    expect(r.diffId).toBe(sha(tar));
    expect(r.warnings).toEqual([]);
    const m = treeManifest(root, { mtime: true });
    expect(m).toContain('etc dir 755 0:0 mtime=111');
    expect(m).toContain('etc/conf file 640 1000:1001 5 2cf24dba5fb0a30e nlink=2 mtime=222');
    expect(m.find((l) => l.startsWith('bin/ping '))).toMatch(/^bin\/ping file 4755 0:0 3 \S+ mtime=1000 security.capability=01000002.* user.note=6e$/);
    expect(m).toContain('tmp dir 1777 0:0 mtime=333');
    expect(m).toContain('sgid dir 2775 5:6 mtime=1000');
    expect(m).toContain('empty dir 700 0:0 mtime=1000');
    expect(m).toContain('link symlink 777 7:8 -> /etc/conf');
    expect(m).toContain(`dev/null char 666 0:0 dev=${(1 << 8) | 3} mtime=1000`);
    expect(m).toContain('fifo fifo 600 0:0 mtime=1000');
    expect(fs.statSync(join(root, 'big/zeros')).size).toBe(3 << 20);
    expect(fs.statSync(join(root, 'big/zeros')).blocks).toBeLessThan(64); // holes, not written zeros
  });

  it('gives modes exactly whatever the umask (chmod only when open or mkdir could not)', async () => {
    const tar = makeTar([
      { path: 'd', type: 'dir', mode: 0o775 },
      { path: 'd/f', body: 'x', mode: 0o664 },
      { path: 'd/big', body: Buffer.alloc(70_000, 1), mode: 0o606 },
      { path: 'd/s', body: 's', mode: 0o2755 },
    ]);
    for (const umask of [0o022, 0o077, 0o000]) {
      const root = tmp();
      const old = process.umask(umask);
      try {
        await extractTar([tar], root);
      } finally {
        process.umask(old);
      }
      const modes = ['d', 'd/f', 'd/big', 'd/s'].map((p) => fs.statSync(join(root, p)).mode & 0o7777);
      expect(modes).toEqual([0o775, 0o664, 0o606, 0o2755]);
    }
  });

  it('turns whiteouts into overlay form', async () => {
    const root = tmp();
    const tar = makeTar([
      { path: 'a', type: 'dir' },
      { path: 'a/.wh.gone', body: '' },
      { path: 'b', type: 'dir' },
      { path: 'b/.wh..wh..opq', body: '' },
      { path: 'b/kept', body: 'k' },
      { path: '.wh.top', body: '' },
      { path: '.wh.again', body: '' },
      { path: 'again', type: 'dir' },
    ]);
    await extractTar([tar], root);
    const gone = fs.lstatSync(join(root, 'a/gone'));
    expect(gone.isCharacterDevice() && gone.rdev === 0).toBe(true);
    expect(fs.lstatSync(join(root, 'top')).isCharacterDevice()).toBe(true);
    expect(nativeFs().lgetxattr(join(root, 'b'), 'user.overlay.opaque')?.toString()).toBe('y');
    expect(fs.readFileSync(join(root, 'b/kept'), 'utf8')).toBe('k');
    expect(fs.existsSync(join(root, 'a/.wh.gone'))).toBe(false);
    expect(nativeFs().lgetxattr(join(root, 'again'), 'user.overlay.opaque')?.toString()).toBe('y');
  });

  it('verifies the diff ID of a gzip layer and sniffs mislabelled compression', async () => {
    const tar = makeTar([{ path: 'f', body: 'x' }]);
    const gz = gzipSync(tar);
    const ok = await extractLayer(Readable.from([gz]), 'application/vnd.oci.image.layer.v1.tar', tmp(), sha(tar));
    expect(ok.diffId).toBe(sha(tar));
    await expect(extractLayer(Readable.from([gz]), 'application/vnd.oci.image.layer.v1.tar+gzip', tmp(), sha(Buffer.from('other')))).rejects.toBeInstanceOf(DiffIdMismatchError);
  });

  it('reads multi-member gzip and a plain tar', async () => {
    const tar = makeTar([{ path: 'f', body: 'x'.repeat(5000) }, { path: 'g', body: 'y' }]);
    const gz = Buffer.concat([gzipSync(tar.subarray(0, 1000)), gzipSync(tar.subarray(1000))]);
    const root = tmp();
    await extractLayer(Readable.from([gz]), 'application/vnd.docker.image.rootfs.diff.tar.gzip', root, sha(tar));
    expect(fs.readFileSync(join(root, 'g'), 'utf8')).toBe('y');
    const root2 = tmp();
    await extractLayer(Readable.from([tar]), 'application/vnd.oci.image.layer.v1.tar', root2, sha(tar));
    expect(fs.readFileSync(join(root2, 'f'), 'utf8')).toHaveLength(5000);
  });
});

// Issue 5: entries through a symlink made earlier in the same layer resolve inside root (as containerd does).
describe('entries through symlinks of the same layer', () => {
  it('follows relative symlinks that stay inside root', async () => {
    const root = tmp();
    const tar = makeTar([
      { path: 'usr', type: 'dir' },
      { path: 'usr/lib', type: 'dir', mode: 0o755, mtime: 444 },
      { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { path: 'lib/x.so', body: 'elf', mode: 0o755 },
      { path: 'lib/sub/y', body: 'y' }, // a missing directory below the link's target is made there
      { path: 'lib/x.so.1', type: 'hardlink', linkname: 'lib/x.so' },
      { path: 'usr/lib64', type: 'symlink', linkname: './../lib/./' }, // `..` inside root, then another link
      { path: 'usr/lib64/z', body: 'z' },
      { path: 'a', type: 'symlink', linkname: 'b' },
      { path: 'b', type: 'symlink', linkname: 'usr' },
      { path: 'a/lib/chained', body: 'c' },
      { path: 'lib/.wh.gone', body: '' },
      { path: 'lib/sub/.wh..wh..opq', body: '' },
    ]);
    const r = await extractTar([tar], root);
    expect(r.warnings).toEqual([]);
    expect(fs.readFileSync(join(root, 'usr/lib/x.so'), 'utf8')).toBe('elf');
    expect(fs.statSync(join(root, 'usr/lib/x.so')).mode & 0o777).toBe(0o755);
    expect(fs.statSync(join(root, 'usr/lib/x.so')).nlink).toBe(2);
    expect(fs.statSync(join(root, 'usr/lib/x.so.1')).ino).toBe(fs.statSync(join(root, 'usr/lib/x.so')).ino);
    expect(fs.readFileSync(join(root, 'usr/lib/sub/y'), 'utf8')).toBe('y');
    expect(fs.readFileSync(join(root, 'usr/lib/z'), 'utf8')).toBe('z');
    expect(fs.readFileSync(join(root, 'usr/lib/chained'), 'utf8')).toBe('c');
    expect(fs.lstatSync(join(root, 'lib')).isSymbolicLink()).toBe(true);
    expect(fs.lstatSync(join(root, 'usr/lib/gone')).isCharacterDevice()).toBe(true);
    expect(nativeFs().lgetxattr(join(root, 'usr/lib/sub'), 'user.overlay.opaque')?.toString()).toBe('y');
    expect(fs.statSync(join(root, 'usr/lib')).mtimeMs).toBe(444_000);
    expect(fs.readdirSync(root).sort()).toEqual(['a', 'b', 'lib', 'usr']);
  });

  it('refuses absolute symlinks on the way, even when the target exists inside root', async () => {
    const root = tmp();
    const tar = makeTar([
      { path: 'usr/lib', type: 'dir' },
      { path: 'lib', type: 'symlink', linkname: '/usr/lib' },
      { path: 'lib/x.so', body: 'elf' },
    ]);
    const err = await extractTar([tar], root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerSecurityError);
    expect((err as LayerSecurityError).entry).toBe('lib/x.so');
    expect(fs.existsSync(join(root, 'usr/lib/x.so'))).toBe(false);
  });
});

// Hostile layers: every case is refused with an error naming the entry, and nothing appears outside.
const hostile: Array<[string, MakeTarEntry[], string]> = [
  ['dot-dot path', [{ path: '../evil', body: 'x' }], '../evil'],
  ['dot-dot inside a path', [{ path: 'a/../../evil', body: 'x' }], 'a/../../evil'],
  ['absolute path', [{ path: '/tmp/evil', body: 'x' }], '/tmp/evil'],
  ['symlink out, then a file through it', [{ path: 'esc', type: 'symlink', linkname: '@OUT@' }, { path: 'esc/evil', body: 'x' }], 'esc/evil'],
  ['relative symlink out, then a dir through it', [{ path: 'esc', type: 'symlink', linkname: '../../../../../..@OUT@' }, { path: 'esc/sub', type: 'dir' }], 'esc/sub'],
  ['relative symlink climbing above root, then a file through it', [{ path: 'd', type: 'dir' }, { path: 'd/up', type: 'symlink', linkname: '../..' }, { path: 'd/up/evil', body: 'x' }], 'd/up/evil'],
  ['chain of symlinks ending outside', [{ path: 'a', type: 'symlink', linkname: 'b' }, { path: 'b', type: 'symlink', linkname: '@OUT@' }, { path: 'a/evil', body: 'x' }], 'a/evil'],
  ['inside symlink to a dir whose link climbs out', [{ path: 'usr', type: 'dir' }, { path: 'usr/x', type: 'symlink', linkname: '../../../../../../..' }, { path: 'lib', type: 'symlink', linkname: 'usr/x' }, { path: 'lib/evil', body: 'x' }], 'lib/evil'],
  ['symlink loop', [{ path: 'a', type: 'symlink', linkname: 'a' }, { path: 'a/f', body: 'x' }], 'a/f'],
  ['file through an inside symlink, then a symlink in its place', [{ path: 'd', type: 'dir' }, { path: 'in', type: 'symlink', linkname: 'd' }, { path: 'in/f', body: 'x' }, { path: 'in/f', type: 'symlink', linkname: '@OUT@/victim' }, { path: 'in/f', body: 'y' }], 'in/f'],
  ['hardlink to an outside absolute path', [{ path: 'h', type: 'hardlink', linkname: '@OUT@/victim' }], 'h'],
  ['hardlink with dot-dot', [{ path: 'h', type: 'hardlink', linkname: '../../../../../..@OUT@/victim' }], 'h'],
  ['hardlink to a file not in the layer', [{ path: 'h', type: 'hardlink', linkname: 'etc/shadow' }], 'h'],
  ['hardlink through a symlink', [{ path: 'esc', type: 'symlink', linkname: '@OUT@' }, { path: 'h', type: 'hardlink', linkname: 'esc/victim' }], 'h'],
  ['symlink then a file with the same name', [{ path: 'f', type: 'symlink', linkname: '@OUT@/victim' }, { path: 'f', body: 'overwrite' }], 'f'],
  ['symlink then a dir with the same name', [{ path: 'f', type: 'symlink', linkname: '@OUT@' }, { path: 'f', type: 'dir' }], 'f'],
  ['whiteout of dot-dot', [{ path: 'a/.wh...', body: '' }], 'a/.wh...'],
  ['whiteout through a symlink', [{ path: 'esc', type: 'symlink', linkname: '@OUT@' }, { path: 'esc/.wh.victim', body: '' }], 'esc/.wh.victim'],
  ['opaque marker through a symlink', [{ path: 'esc', type: 'symlink', linkname: '@OUT@' }, { path: 'esc/.wh..wh..opq', body: '' }], 'esc/.wh..wh..opq'],
];

describe('hostile layers', () => {
  for (const [name, entries, entry] of hostile) {
    it(`refuses: ${name}`, async () => {
      const base = tmp();
      const outside = join(base, 'outside');
      fs.mkdirSync(outside);
      fs.writeFileSync(join(outside, 'victim'), 'original');
      const root = join(base, 'a', 'b', 'c', 'root');
      fs.mkdirSync(root, { recursive: true });
      const fix = (s?: string) => s?.replace('@OUT@', outside);
      const tar = makeTar(entries.map((e) => ({ ...e, path: e.path.replace('@OUT@', outside), linkname: fix(e.linkname) })));
      const err = await extractTar([tar], root).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LayerSecurityError);
      expect((err as LayerSecurityError).entry).toBe(entry.replace('@OUT@', outside));
      expect((err as Error).message).toContain(JSON.stringify(entry.replace('@OUT@', outside)));
      expect(fs.readdirSync(outside)).toEqual(['victim']);
      expect(fs.readFileSync(join(outside, 'victim'), 'utf8')).toBe('original');
      expect(fs.statSync(join(outside, 'victim')).nlink).toBe(1);
      expect(fs.readdirSync(base).sort()).toEqual(['a', 'outside']);
      expect(fs.existsSync('/tmp/evil')).toBe(false);
    });
  }

  it('ignores overlay xattrs smuggled in a tar', async () => {
    const root = tmp();
    const r = await extractTar([makeTar([{ path: 'd', type: 'dir', xattrs: { 'user.overlay.redirect': Buffer.from('/etc'), 'trusted.overlay.opaque': Buffer.from('y') } }])], root);
    expect(nativeFs().llistxattr(join(root, 'd'))).toEqual([]);
    expect(r.warnings).toHaveLength(2);
  });
});
