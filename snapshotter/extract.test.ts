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

// Small files are created on worker threads in batches; the tree must be what one-by-one extraction in tar order gives.
describe('small files on worker threads', () => {
  const pieces = (b: Buffer, n: number): Buffer[] => Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n));

  it('keeps tar order wherever an entry meets a path still being created', async () => {
    const root = tmp();
    const many: MakeTarEntry[] = [];
    for (let i = 0; i < 700; i++) many.push({ path: `many/d${String(i % 7).padStart(2, '0')}/f${String(i).padStart(3, '0')}`, body: `file ${i}` });
    const tar = makeTar([
      ...many,
      { path: 'owned', body: 'o', uid: 1000, gid: 1001, mode: 0o640, mtime: 222 },
      { path: 'dup/f', body: 'one' },
      { path: 'dup/f', body: 'two' },
      { path: 'x', body: 'file' },
      { path: 'x', type: 'dir' },
      { path: 'x/y', body: 'y' },
      { path: 'd3/a', body: 'a' },
      { path: 'd3/b', body: 'b' },
      { path: 'd3', body: 'now a file' },
      { path: 'h', type: 'hardlink', linkname: 'many/d00/f000' },
      { path: 's', body: 's' },
      { path: 's', type: 'symlink', linkname: 'target' },
      { path: 'w/gone', body: 'g' },
      { path: 'w/.wh.gone', body: '' },
      { path: 'big', body: 'small' },
      { path: 'big', body: Buffer.alloc(70_000, 7) },
      { path: 'xa', body: 'plain' },
      { path: 'xa', body: 'with xattr', xattrs: { 'user.note': Buffer.from('n') } },
      { path: 'dev', type: 'dir' },
      { path: 'dev/f', body: 'f' },
      { path: 'dev/f', type: 'fifo', mode: 0o600 },
      { path: 'lnk/f', body: 'under a dir that becomes a link' },
      { path: 'lnk', type: 'symlink', linkname: 'many' },
      { path: 'late', body: 'l' },
    ]);
    const r = await extractTar(pieces(tar, 4096), root);
    expect(r.warnings).toEqual([]);
    const m = treeManifest(root, { mtime: true });
    expect(fs.readdirSync(join(root, 'many')).length).toBe(7);
    for (let i = 0; i < 700; i += 37) expect(fs.readFileSync(join(root, `many/d${String(i % 7).padStart(2, '0')}/f${String(i).padStart(3, '0')}`), 'utf8')).toBe(`file ${i}`);
    expect(m.filter((l) => l.startsWith('many/')).length).toBe(707);
    expect(m).toContain('owned file 640 1000:1001 1 65c74c15a686187b mtime=222');
    expect(fs.readFileSync(join(root, 'dup/f'), 'utf8')).toBe('two');
    expect(fs.readFileSync(join(root, 'x/y'), 'utf8')).toBe('y');
    expect(fs.readFileSync(join(root, 'd3'), 'utf8')).toBe('now a file');
    expect(fs.statSync(join(root, 'h')).ino).toBe(fs.statSync(join(root, 'many/d00/f000')).ino);
    expect(fs.readlinkSync(join(root, 's'))).toBe('target');
    expect(fs.lstatSync(join(root, 'w/gone')).isCharacterDevice()).toBe(true);
    expect(fs.statSync(join(root, 'big')).size).toBe(70_000);
    expect(fs.readFileSync(join(root, 'xa'), 'utf8')).toBe('with xattr');
    expect(nativeFs().lgetxattr(join(root, 'xa'), 'user.note')?.toString()).toBe('n');
    expect(fs.lstatSync(join(root, 'dev/f')).isFIFO()).toBe(true);
    // `lnk` was a directory made for lnk/f: replaced by the link, its file gone with it.
    expect(fs.readlinkSync(join(root, 'lnk'))).toBe('many');
    expect(fs.readFileSync(join(root, 'late'), 'utf8')).toBe('l');
    expect(fs.readdirSync(root).sort()).toEqual(['big', 'd3', 'dev', 'dup', 'h', 'late', 'lnk', 'many', 'owned', 's', 'w', 'x', 'xa']);
  });

  it('redoes, in order, files that meet something left in root before the layer', async () => {
    const base = tmp();
    const root = join(base, 'root');
    fs.mkdirSync(join(root, 'd/sub'), { recursive: true });
    fs.writeFileSync(join(root, 'd/sub/old'), 'old');
    fs.writeFileSync(join(root, 'f'), 'old');
    const tar = makeTar([
      { path: 'f', body: 'new' },
      { path: 'd', body: 'a file now' },
      { path: 'g', body: 'g' },
    ]);
    await extractTar(pieces(tar, 512), root);
    expect(fs.readFileSync(join(root, 'f'), 'utf8')).toBe('new');
    expect(fs.readFileSync(join(root, 'd'), 'utf8')).toBe('a file now');
    expect(fs.readdirSync(root).sort()).toEqual(['d', 'f', 'g']);

    // A symlink left in root: never written through, and replacing it is refused, naming the entry.
    fs.mkdirSync(join(base, 'outside'));
    fs.writeFileSync(join(base, 'outside/victim'), 'original');
    const root2 = join(base, 'root2');
    fs.mkdirSync(root2);
    fs.symlinkSync(join(base, 'outside/victim'), join(root2, 's'));
    const err = await extractTar([makeTar([{ path: 'a', body: 'a' }, { path: 's', body: 'evil' }, { path: 'b', body: 'b' }])], root2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerSecurityError);
    expect((err as LayerSecurityError).entry).toBe('s');
    expect(fs.readFileSync(join(base, 'outside/victim'), 'utf8')).toBe('original');
    expect(fs.readdirSync(join(base, 'outside'))).toEqual(['victim']);
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

  // As containerd (fs.RootPath): an absolute target is resolved as if root were `/`, never on the host.
  it('follows absolute symlinks from root, never from the host root', async () => {
    const base = tmp();
    const root = join(base, 'root');
    fs.mkdirSync(root);
    const tar = makeTar([
      { path: 'usr/lib', type: 'dir' },
      { path: 'lib', type: 'symlink', linkname: '/usr/lib' },
      { path: 'lib/x.so', body: 'elf' },
      { path: 'var/run', type: 'symlink', linkname: '/run' }, // Debian's /var/run; /run is made below root
      { path: 'var/run/lock/pid', body: '1' },
      { path: 'conf', type: 'symlink', linkname: '/etc' }, // the host's /etc exists: it must not matter
      { path: 'conf/passwd', body: 'root:x:0:0::/root:/bin/sh\n' },
      { path: 'top', type: 'symlink', linkname: '/' },
      { path: 'top/usr/lib/y.so', body: 'y' },
      { path: 'rel', type: 'symlink', linkname: 'abs' }, // a chain: relative, then absolute, then relative
      { path: 'abs', type: 'symlink', linkname: '//usr/./lib/' },
      { path: 'rel/z.so', body: 'z' },
      { path: 'lib/z.so.1', type: 'hardlink', linkname: 'lib/z.so' },
      { path: 'out', type: 'symlink', linkname: base }, // the real path of root's parent on this host
      { path: 'out/escaped', body: 'x' },
    ]);
    const passwd = fs.readFileSync('/etc/passwd');
    const r = await extractTar([tar], root);
    expect(r.warnings).toEqual([]);
    expect(fs.readFileSync(join(root, 'usr/lib/x.so'), 'utf8')).toBe('elf');
    expect(fs.readFileSync(join(root, 'run/lock/pid'), 'utf8')).toBe('1');
    expect(fs.readFileSync(join(root, 'usr/lib/y.so'), 'utf8')).toBe('y');
    expect(fs.readFileSync(join(root, 'usr/lib/z.so'), 'utf8')).toBe('z');
    expect(fs.statSync(join(root, 'usr/lib/z.so')).nlink).toBe(2);
    expect(fs.readFileSync(join(root, base.slice(1), 'escaped'), 'utf8')).toBe('x');
    // Links as plain entries are kept as written.
    expect(fs.readlinkSync(join(root, 'lib'))).toBe('/usr/lib');
    expect(fs.readlinkSync(join(root, 'var/run'))).toBe('/run');
    expect(fs.readlinkSync(join(root, 'conf'))).toBe('/etc');
    expect(fs.readdirSync(base)).toEqual(['root']);
    expect(fs.readFileSync('/etc/passwd').equals(passwd)).toBe(true);
    // The host's /etc/passwd stays as it was; the layer's lands below root, through the link's target there.
    expect(fs.readFileSync(join(root, 'etc', 'passwd'), 'utf8')).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(fs.readdirSync(root).sort()).toEqual(['abs', 'conf', 'etc', 'lib', 'out', 'rel', 'run', 'top', 'usr', 'var', base.split('/')[1]!].sort());
  });

  it('refuses an absolute target whose ".." climbs above root', async () => {
    const base = tmp();
    const root = join(base, 'root');
    fs.mkdirSync(root);
    const tar = makeTar([
      { path: 'up', type: 'symlink', linkname: '/../..' },
      { path: 'up/evil', body: 'x' },
    ]);
    const err = await extractTar([tar], root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerSecurityError);
    expect((err as LayerSecurityError).entry).toBe('up/evil');
    expect(fs.readdirSync(base)).toEqual(['root']);
  });
});

// Hostile layers: nothing appears outside. Each case is refused with an error naming the entry, or (an
// absolute symlink, resolved as if root were `/`, as containerd does) contained: written below root.
const hostile: Array<[string, MakeTarEntry[], string | { inside: string }]> = [
  ['dot-dot path', [{ path: '../evil', body: 'x' }], '../evil'],
  ['dot-dot inside a path', [{ path: 'a/../../evil', body: 'x' }], 'a/../../evil'],
  ['absolute path', [{ path: '/tmp/evil', body: 'x' }], '/tmp/evil'],
  ['symlink out, then a file through it', [{ path: 'esc', type: 'symlink', linkname: '@OUT@' }, { path: 'esc/evil', body: 'x' }], { inside: '@OUT@/evil' }],
  ['absolute symlink climbing out with "..", then a file through it', [{ path: 'esc', type: 'symlink', linkname: '/../../../../../..@OUT@' }, { path: 'esc/evil', body: 'x' }], 'esc/evil'],
  ['absolute symlink to root, then a link climbing from it', [{ path: 'r', type: 'symlink', linkname: '/' }, { path: 'r2', type: 'symlink', linkname: 'r/..' }, { path: 'r2/evil', body: 'x' }], 'r2/evil'],
  ['relative symlink out, then a dir through it', [{ path: 'esc', type: 'symlink', linkname: '../../../../../..@OUT@' }, { path: 'esc/sub', type: 'dir' }], 'esc/sub'],
  ['relative symlink climbing above root, then a file through it', [{ path: 'd', type: 'dir' }, { path: 'd/up', type: 'symlink', linkname: '../..' }, { path: 'd/up/evil', body: 'x' }], 'd/up/evil'],
  ['chain of symlinks ending outside', [{ path: 'a', type: 'symlink', linkname: 'b' }, { path: 'b', type: 'symlink', linkname: '@OUT@' }, { path: 'a/evil', body: 'x' }], { inside: '@OUT@/evil' }],
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
  ['whiteout through a symlink', [{ path: 'esc', type: 'symlink', linkname: '@OUT@' }, { path: 'esc/.wh.victim', body: '' }], { inside: '@OUT@/victim' }],
  ['opaque marker through a symlink', [{ path: 'esc', type: 'symlink', linkname: '@OUT@' }, { path: 'esc/.wh..wh..opq', body: '' }], { inside: '@OUT@' }],
  ['symlink out, then a file through it, then the same file again', [{ path: 'esc', type: 'symlink', linkname: '@OUT@' }, { path: 'esc/victim', body: 'x' }, { path: 'esc/victim', body: 'y' }], { inside: '@OUT@/victim' }],
];

describe('hostile layers', () => {
  for (const [name, entries, outcome] of hostile) {
    it(`${typeof outcome === 'string' ? 'refuses' : 'contains'}: ${name}`, async () => {
      const base = tmp();
      const outside = join(base, 'outside');
      fs.mkdirSync(outside);
      fs.writeFileSync(join(outside, 'victim'), 'original');
      const root = join(base, 'a', 'b', 'c', 'root');
      fs.mkdirSync(root, { recursive: true });
      const fix = (s?: string) => s?.replace('@OUT@', outside);
      const tar = makeTar(entries.map((e) => ({ ...e, path: e.path.replace('@OUT@', outside), linkname: fix(e.linkname) })));
      const err = await extractTar([tar], root).catch((e: unknown) => e);
      if (typeof outcome === 'string') {
        expect(err).toBeInstanceOf(LayerSecurityError);
        expect((err as LayerSecurityError).entry).toBe(outcome.replace('@OUT@', outside));
        expect((err as Error).message).toContain(JSON.stringify(outcome.replace('@OUT@', outside)));
      } else {
        expect(err).not.toBeInstanceOf(Error);
        expect(fs.lstatSync(join(root, outcome.inside.replace('@OUT@', outside))).isSymbolicLink()).toBe(false);
      }
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
