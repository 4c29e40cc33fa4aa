/**
 * One-layer OCI images made from a root file system tarball, for tests and
 * benchmarks: an OCI image layout directory (written without any rbuild code,
 * so that a bug in rbuild cannot hide in its own fixtures), and a push of that
 * layout to a registry with skopeo.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** Options for ociImageFromTar. */
export interface OciImageFromTarOptions {
  /** The tag recorded as `org.opencontainers.image.ref.name` in index.json (default `latest`). */
  tag?: string;
  /** The image's Cmd (default `["/bin/sh"]`). */
  cmd?: string[];
  /** The image's Env (default a PATH). */
  env?: string[];
  /** gzip level of the layer (default 6, as docker and buildah use). */
  level?: number;
  signal?: AbortSignal;
}

/** What ociImageFromTar wrote. */
export interface OciImageFromTarResult {
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
  diffId: string;
  /** Compressed size of the layer in bytes. */
  layerSize: number;
}

/** An error making or pushing a fixture image. */
export class OciFixtureError extends Error {
  code: string;
  override cause?: unknown;
  constructor(code: string, message: string, cause?: unknown) {
    super(message);
    this.name = 'OciFixtureError';
    this.code = code;
    this.cause = cause;
  }
}

/** The OCI architecture name of this machine. */
export function ociArch(nodeArch: string = process.arch): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[nodeArch] ?? nodeArch;
}

/** A pass-through stream that hashes (sha256) and counts what goes through. */
class Digester extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  /** `sha256:<hex>`; call once, after the stream has finished. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

const FIXED_CREATED = '1970-01-01T00:00:00Z';
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

async function writeBlob(layoutDir: string, bytes: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await writeFile(join(layoutDir, 'blobs/sha256', digest.slice(7)), bytes);
  return digest;
}

/**
 * Writes a one-layer OCI image layout at `layoutDir` from an uncompressed root
 * file system tarball: the layer is gzipped as a stream while both its
 * uncompressed (diff_id) and compressed digests are computed on the way.
 * Deterministic: the same tarball gives the same manifest digest.
 */
export async function ociImageFromTar(rootfsTar: string, layoutDir: string, opts: OciImageFromTarOptions = {}): Promise<OciImageFromTarResult> {
  const blobs = join(layoutDir, 'blobs/sha256');
  await mkdir(blobs, { recursive: true });

  // raw tar -> diff_id digest -> gzip -> layer digest -> temp file, renamed to its digest once known
  const tmp = join(blobs, `.layer-${process.pid}.tmp`);
  const raw = new Digester();
  const gz = new Digester();
  // Node writes mtime 0 in the gzip header, so the compressed digest depends only on the content.
  const gzip = createGzip({ level: opts.level ?? 6 });
  try {
    await pipeline(createReadStream(rootfsTar), raw, gzip, gz, createWriteStream(tmp), { signal: opts.signal });
  } catch (e) {
    throw new OciFixtureError('ELAYER', `compressing ${rootfsTar}: ${(e as Error).message}`, e);
  }
  const diffId = raw.digest();
  const layerDigest = gz.digest();
  await rename(tmp, join(blobs, layerDigest.slice(7)));

  const config = {
    created: FIXED_CREATED,
    architecture: ociArch(),
    os: 'linux',
    config: { Env: opts.env ?? [DEFAULT_PATH], Cmd: opts.cmd ?? ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: FIXED_CREATED, created_by: `rootfs from ${rootfsTar.split('/').pop()}` }],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = await writeBlob(layoutDir, configBytes);

  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBytes.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: gz.bytes }],
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = await writeBlob(layoutDir, manifestBytes);

  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: manifest.mediaType,
        digest: manifestDigest,
        size: manifestBytes.length,
        annotations: { 'org.opencontainers.image.ref.name': opts.tag ?? 'latest' },
      },
    ],
  };
  await writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(layoutDir, 'index.json'), JSON.stringify(index));
  return { manifestDigest, configDigest, layerDigest, diffId, layerSize: gz.bytes };
}

/**
 * Pushes the image tagged `tag` in an OCI layout to `ref` (`host:port/repo:tag`)
 * with skopeo, TLS off (for the plain-HTTP loopback registries of tests).
 */
export function pushLayoutToRegistry(layoutDir: string, ref: string, opts: { tag?: string; signal?: AbortSignal } = {}): Promise<void> {
  const argv = ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layoutDir}:${opts.tag ?? 'latest'}`, `docker://${ref}`];
  return new Promise((resolve, reject) => {
    execFile('skopeo', argv, { signal: opts.signal, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new OciFixtureError('EPUSH', `skopeo ${argv.join(' ')}: ${String(stderr).trim() || err.message}`, err));
      else resolve();
    });
  });
}
