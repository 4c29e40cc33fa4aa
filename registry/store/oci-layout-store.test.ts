import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { MediaType } from '../oci/types.js';
import type { Descriptor } from '../oci/types.js';
import { sha256Digest } from '../oci/validate.js';
import { openStore, type OciLayoutStore } from './oci-layout-store.js';
import { makeTestImage } from './test-image.js';

const run = promisify(execFile);
let root: string;
let store: OciLayoutStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbuild-store-'));
  store = await openStore(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('OciLayoutStore blobs', () => {
  it('creates an OCI layout', async () => {
    expect(JSON.parse(await readFile(join(root, 'oci/oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(JSON.parse(await readFile(join(root, 'oci/index.json'), 'utf8')).manifests).toEqual([]);
  });

  it('writes a stream under its digest and reads it back', async () => {
    const data = Buffer.from('hello world');
    const got = await store.write(Readable.from([data.subarray(0, 5), data.subarray(5)]));
    expect(got).toEqual({ digest: sha256Digest(data), size: 11 });
    expect(await store.stat(got.digest)).toEqual({ size: 11 });
    expect((await collect(await store.read(got.digest))).toString()).toBe('hello world');
    expect((await store.readBytes(got.digest)).toString()).toBe('hello world');
    expect(await readFile(store.blobPath(got.digest), 'utf8')).toBe('hello world');
    // Writing it again is a no-op that still verifies.
    expect(await store.write(Readable.from([data]), { digest: got.digest, size: 11 })).toEqual(got);
    await expect(store.write(Readable.from([Buffer.from('hello worlD')]), { digest: got.digest })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect((await store.readBytes(got.digest)).toString()).toBe('hello world');
  });

  it('writes a blob of many odd-sized pieces across several batches and early flushes intact', async () => {
    // 40 MiB in pieces of 1..128 KiB: several 1 MiB writev batches and one early flush at 32 MiB.
    const pieces: Buffer[] = [];
    let n = 0;
    for (let i = 0; n < 40 << 20; i++) {
      const len = Math.min(1 + ((i * 7919) % (128 << 10)), (40 << 20) - n);
      pieces.push(Buffer.alloc(len, i % 251));
      n += len;
    }
    const data = Buffer.concat(pieces);
    const got = await store.write(Readable.from(pieces), { digest: sha256Digest(data), size: data.length });
    expect(got).toEqual({ digest: sha256Digest(data), size: data.length });
    expect((await readFile(store.blobPath(got.digest))).equals(data)).toBe(true);
    expect((await readdir(join(root, 'tmp'))).filter((f) => f.startsWith('blob-'))).toEqual([]);
    // The same without fsync (no early flushes).
    const quick = await openStore(join(root, 'nosync'), { fsync: false });
    const again = await quick.write(Readable.from(pieces));
    expect((await readFile(quick.blobPath(again.digest))).equals(data)).toBe(true);
  });

  it('rejects a wrong digest or size and leaves neither blob nor temp file', async () => {
    const data = Buffer.from('payload');
    const wrong = sha256Digest('other');
    await expect(store.write(Readable.from([data]), { digest: wrong })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await expect(store.write(Readable.from([data]), { size: 3 })).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await expect(store.write(Readable.from([data]), { size: 30 })).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    expect(await store.stat(wrong)).toBeUndefined();
    expect(await store.stat(sha256Digest(data))).toBeUndefined();
    expect((await readdir(join(root, 'tmp'))).filter((f) => f.startsWith('blob-'))).toEqual([]);
  });

  it('an aborted or failing source leaves no blob', async () => {
    const ac = new AbortController();
    async function* src() {
      yield Buffer.from('part one');
      ac.abort();
      yield Buffer.from('part two');
    }
    await expect(store.write(src(), {}, ac.signal)).rejects.toThrow();
    async function* broken() {
      yield Buffer.from('x');
      throw new Error('source died');
    }
    await expect(store.write(broken())).rejects.toThrow('source died');
    expect((await store.listBlobs()).length).toBe(0);
    expect((await readdir(join(root, 'tmp'))).filter((f) => f.startsWith('blob-'))).toEqual([]);
  });

  it('detects corruption on disk in readBytes and readVerified', async () => {
    const d = await store.writeBytes(Buffer.from('{"a":1}'), 'application/json');
    await writeFile(store.blobPath(d.digest), '{"a":2}');
    await expect(store.readBytes(d.digest)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await expect(collect(await store.readVerified(d.digest))).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    // The unverified read still streams (for callers that verify themselves).
    expect((await collect(await store.read(d.digest))).toString()).toBe('{"a":2}');
  });

  it('reports unknown blobs and refuses malformed digests', async () => {
    const d = sha256Digest('nothing');
    await expect(store.read(d)).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
    await expect(store.readBytes(d)).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
    expect(() => store.blobPath('sha256:../../etc/passwd' as never)).toThrow(/not a valid digest/);
  });
});

describe('OciLayoutStore index', () => {
  const desc = (s: string): Descriptor => ({ mediaType: MediaType.ociManifest, digest: sha256Digest(s), size: s.length });

  it('tags, lists, resolves, untags, and persists', async () => {
    await store.tag('docker.io/library/a:latest', desc('a'));
    await store.tag('docker.io/library/b:1', desc('b'));
    await store.tag('docker.io/library/a:latest', desc('a2'));
    const again = await openStore(root);
    expect((await again.list()).map((e) => e.name)).toEqual(['docker.io/library/b:1', 'docker.io/library/a:latest']);
    expect(await again.resolve('docker.io/library/a:latest')).toEqual(desc('a2'));
    expect(await again.untag('docker.io/library/a:latest')).toBe(true);
    expect(await again.untag('docker.io/library/a:latest')).toBe(false);
    const raw = JSON.parse(await readFile(join(root, 'oci/index.json'), 'utf8'));
    expect(raw.manifests).toEqual([{ ...desc('b'), annotations: { 'org.opencontainers.image.ref.name': 'docker.io/library/b:1' } }]);
  });

  it('re-tagging a name with the descriptor it already has writes nothing (a no-op rebuild)', async () => {
    await store.tag('docker.io/library/a:latest', desc('a'));
    const index = join(root, 'oci/index.json');
    const before = statSync(index).ino;
    await store.tag('docker.io/library/a:latest', desc('a'));
    // index.json is replaced by rename on every write: the same inode means it was not rewritten.
    expect(statSync(index).ino).toBe(before);
    await store.tag('docker.io/library/a:latest', desc('a2'));
    expect(statSync(index).ino).not.toBe(before);
    expect(await store.resolve('docker.io/library/a:latest')).toEqual(desc('a2'));
  });

  it('skopeo and umoci read the layout with full names as ref.name', async () => {
    const img = await makeTestImage(store, { layers: [{ 'etc/hello': 'hi\n' }, { 'bin/tool': 'x' }] });
    const name = 'docker.io/library/busybox:latest';
    await store.tag(name, img.manifest);
    const out = await mkdtemp(join(tmpdir(), 'rbuild-skopeo-'));
    try {
      await run('skopeo', ['copy', '--quiet', `oci:${root}/oci:${name}`, `oci:${out}:copied`]);
      const idx = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
      expect(idx.manifests[0].digest).toBe(img.manifest.digest);
      const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${root}/oci:${name}`]);
      expect(sha256Digest(stdout)).toBe(img.manifest.digest);
      const ls = await run('umoci', ['ls', '--layout', join(root, 'oci')]);
      expect(ls.stdout.trim()).toBe(name);
      const st = await run('umoci', ['stat', '--image', `${join(root, 'oci')}:${name}`, '--json']);
      expect(JSON.parse(st.stdout).history).toHaveLength(2);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('images skopeo copies into the layout sit beside ours', async () => {
    const img = await makeTestImage(store, { layers: [{ a: '1' }] });
    await store.tag('docker.io/library/mine:1', img.manifest);
    const other = await mkdtemp(join(tmpdir(), 'rbuild-other-'));
    try {
      const o = await openStore(other);
      const oi = await makeTestImage(o, { layers: [{ b: '2' }] });
      await o.tag('localhost/theirs:1', oi.manifest);
      await run('skopeo', ['copy', '--quiet', `oci:${o.layoutDir}:localhost/theirs:1`, `oci:${store.layoutDir}:localhost/theirs:1`]);
      const again = await openStore(root);
      expect((await again.list()).map((e) => e.name).sort()).toEqual(['docker.io/library/mine:1', 'localhost/theirs:1']);
      expect((await again.resolve('localhost/theirs:1'))?.digest).toBe(oi.manifest.digest);
      expect(await again.readBytes(oi.config.digest)).toBeInstanceOf(Buffer);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('several processes tagging at once lose no update', async () => {
    const appDir = inject('appDir');
    const mod = join(appDir, 'dist/registry/store/oci-layout-store.js');
    const procs = 6;
    const perProc = 15;
    const script = `
      const { openStore } = await import(${JSON.stringify(mod)});
      const [root, id, n] = process.argv.slice(1);
      const s = await openStore(root);
      for (let i = 0; i < Number(n); i++) {
        const digest = 'sha256:' + (id + '-' + i).padEnd(64, '0').replace(/[^a-f0-9]/g, 'a');
        await s.tag('localhost/p' + id + ':t' + i, { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: i });
      }`;
    await Promise.all(
      Array.from({ length: procs }, (_, id) => run(process.execPath, ['--input-type=module', '-e', script, root, String(id), String(perProc)])),
    );
    const names = (await store.list()).map((e) => e.name);
    expect(names).toHaveLength(procs * perProc);
    expect(new Set(names).size).toBe(procs * perProc);
    expect((await readdir(join(root, 'tmp'))).filter((f) => !f.startsWith('.'))).toEqual([]);
  });

  it('breaks a stale lock left by a dead process', async () => {
    // A pid that cannot be alive (above pid_max) stands for a crashed holder.
    await writeFile(join(root, 'tmp/index.json.lock'), `4194304999 ${(await import('node:os')).hostname()}\n`);
    await store.tag('localhost/x:1', desc('x'));
    expect(await store.resolve('localhost/x:1')).toEqual(desc('x'));
  });
});
