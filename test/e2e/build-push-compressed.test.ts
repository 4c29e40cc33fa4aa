/**
 * Layers are stored uncompressed and compressed when the image leaves: a build
 * commits plain tars (digest = diff ID), `build --push` sends gzip layers the
 * real registry and skopeo accept, `rbuild pull` brings the same image (same
 * config, same diff IDs) back, and a second push reuses the remembered
 * compressed blobs instead of compressing again.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runAs, tempDirFor, TEST_USER, userInfo, removeTempDirs } from '../support/unprivileged.js';

afterAll(removeTempDirs);

const app = () => join(inject('appDir'), 'dist/builder/cli/main.js');
const registry = () => inject('registry');
const rbuild = (args: string[]) => runAs(TEST_USER, [process.execPath, app(), ...args]);
const skopeoRaw = (ref: string) =>
  JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' })) as {
    mediaType: string; config: { digest: string }; layers: Array<{ mediaType: string; digest: string; size: number }>;
  };
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Stored { manifest: { config: { digest: string }; layers: Array<{ mediaType: string; digest: string }> }; diffIds: string[] }
function storedImage(root: string, name: string): Stored {
  const index = JSON.parse(readFileSync(join(root, 'oci/index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name)!;
  const blob = (d: string) => readFileSync(join(root, 'oci/blobs/sha256', d.slice(7)));
  const manifest = JSON.parse(blob(entry.digest).toString()) as Stored['manifest'];
  const config = JSON.parse(blob(manifest.config.digest).toString()) as { rootfs: { diff_ids: string[] } };
  return { manifest, diffIds: config.rootfs.diff_ids };
}

describe('uncompressed store, compressed on the way out', () => {
  let work: string;
  let ctx: string;
  const root = () => join(work, 'store');
  const mappings = () => join(root(), 'cache/compressed-blobs');
  const ref = () => `${registry()}/e2e/compressed:1`;
  beforeAll(() => {
    work = tempDirFor(TEST_USER, 'rbuild-compressed-');
    ctx = join(work, 'ctx');
    mkdirSync(ctx);
    const { uid, gid } = userInfo(TEST_USER);
    chownSync(ctx, uid, gid);
    const files: Record<string, string> = {
      Dockerfile: [`FROM ${registry()}/library/busybox:latest`, 'COPY big.txt /big.txt', 'RUN wc -c /big.txt > /size.txt', ''].join('\n'),
      'big.txt': 'compressible line of text\n'.repeat(40_000),
    };
    for (const [n, c] of Object.entries(files)) {
      writeFileSync(join(ctx, n), c);
      chownSync(join(ctx, n), uid, gid);
    }
  });

  it('build --push: local layers are plain tars, the pushed ones gzip; metadata names the pushed digest', async () => {
    const meta = join(work, 'meta.json');
    const iid = join(work, 'iid');
    const r = await rbuild(['build', '--root', root(), '-t', ref(), '--push', '--metadata-file', meta, '--iidfile', iid, ctx]);
    expect(r.code, r.stderr).toBe(0);
    const local = storedImage(root(), ref());
    const own = local.manifest.layers.slice(-2); // COPY and RUN; the base's are gzip as pulled
    for (const [i, l] of own.entries()) {
      expect(l.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
      expect(l.digest).toBe(local.diffIds[local.diffIds.length - 2 + i]);
    }
    const pushed = skopeoRaw(ref());
    expect(pushed.config.digest).toBe(local.manifest.config.digest);
    expect(pushed.layers.map((l) => l.mediaType)).toEqual(local.manifest.layers.map(() => 'application/vnd.oci.image.layer.v1.tar+gzip'));
    // The gzip blobs in the store (remembered for later pushes) hold the same tars.
    for (const [i, l] of pushed.layers.entries()) {
      const bytes = readFileSync(join(root(), 'oci/blobs/sha256', l.digest.slice(7)));
      expect(sha(gunzipSync(bytes))).toBe(local.diffIds[i]);
    }
    const info = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref()}`], { encoding: 'utf8' })) as { Digest: string };
    const m = JSON.parse(readFileSync(meta, 'utf8')) as Record<string, string>;
    expect(m['containerimage.digest']).toBe(info.Digest);
    expect(m['rbuild.local.digest']).not.toBe(info.Digest);
    expect(readFileSync(iid, 'utf8')).toBe(local.manifest.config.digest);
  });

  it('rbuild pull of the pushed image round-trips: same image ID and diff IDs', async () => {
    const fresh = join(work, 'fresh');
    const r = await rbuild(['pull', '--root', fresh, ref()]);
    expect(r.code, r.stderr).toBe(0);
    const got = storedImage(fresh, ref());
    const local = storedImage(root(), ref());
    expect(got.manifest.config.digest).toBe(local.manifest.config.digest);
    expect(got.diffIds).toEqual(local.diffIds);
    expect(got.manifest.layers.every((l) => l.mediaType.endsWith('+gzip'))).toBe(true);
    // And it works as a base: its files are there.
    const ctx2 = join(work, 'ctx2');
    mkdirSync(ctx2);
    writeFileSync(join(ctx2, 'Dockerfile'), `FROM ${ref()}\nRUN grep -q 1040000 /size.txt\n`);
    const { uid, gid } = userInfo(TEST_USER);
    for (const p of [ctx2, join(ctx2, 'Dockerfile')]) chownSync(p, uid, gid);
    const run = await rbuild(['build', '-q', '--root', fresh, '--pull=never', ctx2]);
    expect(run.code, run.stderr).toBe(0);
  });

  it('after a prune, a second push reuses the remembered compressed blobs (no mapping rewritten) and gives the same digest', async () => {
    const before = readdirSync(mappings()).map((f) => [f, statSync(join(mappings(), f)).mtimeMs] as const);
    expect(before.length).toBeGreaterThanOrEqual(2);
    const first = skopeoRaw(ref());
    // prune keeps the compressed forms of the images' layers.
    const pruned = await rbuild(['prune', '--root', root()]);
    expect(pruned.code, pruned.stderr).toBe(0);
    for (const l of first.layers) expect(pruned.stdout).not.toContain(l.digest);
    const r = await rbuild(['push', '--root', root(), ref(), `${registry()}/e2e/compressed-again:1`]);
    expect(r.code, r.stderr).toBe(0);
    const after = readdirSync(mappings()).map((f) => [f, statSync(join(mappings(), f)).mtimeMs] as const);
    expect(after).toEqual(before);
    expect(skopeoRaw(`${registry()}/e2e/compressed-again:1`).layers).toEqual(first.layers);
    const info = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref()}`], { encoding: 'utf8' })) as { Digest: string };
    expect(r.stdout.trim().split('@')[1]).toBe(info.Digest);
  });

  it('push --compression-format zstd sends zstd layers', async () => {
    const r = await rbuild(['push', '--root', root(), '--compression-format', 'zstd', ref(), `${registry()}/e2e/compressed-zstd:1`]);
    expect(r.code, r.stderr).toBe(0);
    const m = skopeoRaw(`${registry()}/e2e/compressed-zstd:1`);
    // Layers pulled as gzip stay gzip; the build's own are compressed with zstd.
    expect(m.layers.slice(-2).map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd']);
    const pulled = await rbuild(['pull', '--root', join(work, 'zstd'), `${registry()}/e2e/compressed-zstd:1`]);
    expect(pulled.code, pulled.stderr).toBe(0);
  });

  it('a docker-archive holds plain tars; loaded elsewhere and pushed, its layers go out gzip', async () => {
    const archive = join(work, 'img.tar');
    const saved = await rbuild(['save', '--root', root(), '-o', archive, ref()]);
    expect(saved.code, saved.stderr).toBe(0);
    const other = join(work, 'loaded');
    const loaded = await rbuild(['load', '--root', other, '-i', archive]);
    expect(loaded.code, loaded.stderr).toBe(0);
    const img = storedImage(other, ref());
    expect(img.manifest.layers.map((l) => l.digest)).toEqual(img.diffIds); // stored as the plain tars they are
    const dest = `${registry()}/e2e/compressed-loaded:1`;
    const pushed = await rbuild(['push', '--root', other, ref(), dest]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(skopeoRaw(dest).layers.every((l) => l.mediaType.endsWith('tar.gzip') || l.mediaType.endsWith('tar+gzip'))).toBe(true);
    // An OCI archive carries the compressed layers.
    const oci = join(work, 'img-oci.tar');
    const s2 = await rbuild(['save', '--root', root(), '--format', 'oci', '-o', oci, ref()]);
    expect(s2.code, s2.stderr).toBe(0);
    const listing = execFileSync('tar', ['-xOf', oci, 'index.json'], { encoding: 'utf8' });
    const top = (JSON.parse(listing) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest;
    const m = JSON.parse(execFileSync('tar', ['-xOf', oci, `blobs/sha256/${top.slice(7)}`], { encoding: 'utf8' })) as Stored['manifest'];
    expect(m.layers.every((l) => l.mediaType.endsWith('+gzip'))).toBe(true);
  });

  it('build --compression-format gzip compresses at commit, as before', async () => {
    const r = await rbuild(['build', '--root', join(work, 'gz'), '-t', 'local/gz:1', '--compression-format', 'gzip', ctx]);
    expect(r.code, r.stderr).toBe(0);
    const img = storedImage(join(work, 'gz'), 'docker.io/local/gz:1');
    expect(img.manifest.layers.every((l) => l.mediaType.endsWith('+gzip'))).toBe(true);
  });
});
