/**
 * Layer commit and extraction throughput, rbuild vs `tar | pigz -p2` and
 * `tar | gzip` on the same trees in the same run: a 512 MiB file (half random,
 * half base64 text) and 20,000 small files. Run as root (or inside the user
 * namespace): `node dist/bench/layer-commit.js [--size-mib N] [--files N]`.
 * Prints MB/s of uncompressed tar bytes, ratios, and the peak RSS.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createSnapshotter } from '../snapshotter/create.js';
import type { Digest } from '../snapshotter/snapshotter.js';
import { fileSink } from '../snapshotter/testing/file-sink.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const sizeMiB = arg('--size-mib', 512);
const nFiles = arg('--files', 20_000);

function fillBig(dir: string): void {
  const fd = fs.openSync(join(dir, 'big.bin'), 'w');
  const half = (sizeMiB / 2) * (1 << 20);
  for (let done = 0; done < half; done += 1 << 20) fs.writeSync(fd, randomBytes(1 << 20));
  for (let done = 0; done < half; done += 1 << 20) fs.writeSync(fd, Buffer.from(randomBytes(786432).toString('base64')));
  fs.closeSync(fd);
}

function fillSmall(dir: string): void {
  for (let i = 0; i < nFiles; i++) {
    const d = join(dir, `d${i % 100}`);
    if (i < 100) fs.mkdirSync(d);
    fs.writeFileSync(join(d, `f${i}.txt`), randomBytes(300 + (i % 7) * 300).toString('base64'));
  }
}

function timeIt<T>(f: () => T): [T, number] {
  const t = performance.now();
  const r = f();
  return [r, (performance.now() - t) / 1000];
}

async function timeAsync<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, (performance.now() - t) / 1000];
}

const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
const mbps = (bytes: number, s: number) => bytes / 1e6 / s;

async function one(name: string, fill: (dir: string) => void, work: string): Promise<void> {
  const store = await createSnapshotter({ root: join(work, `store-${name}`), driver: 'overlay' });
  const a = await store.prepare(name, undefined);
  fill(a.root);
  const upper = join(store.dir, 'active');
  const upperDir = join(upper, fs.readdirSync(upper)[0]!, 'upper');
  const sink = fileSink(join(work, 'blobs'));
  const [layer, tRb] = await timeAsync(() => store.diff(name, sink, { compression: 'gzip' }));
  const tarBytes = Number(execFileSync('sh', ['-c', `tar -C ${upperDir} -cf - . | wc -c`]).toString().trim());
  const [, tPigz] = timeIt(() => sh(`tar -C ${upperDir} -cf - . | pigz -6 -p2 > ${work}/pigz.tgz`));
  const [, tGzip] = timeIt(() => sh(`tar -C ${upperDir} -cf - . | gzip -6 > ${work}/gzip.tgz`));
  const pigzSize = fs.statSync(`${work}/pigz.tgz`).size;
  await store.remove(name);

  const fresh = await createSnapshotter({ root: join(work, `fresh-${name}`), driver: 'overlay' });
  const blob = sink.path(layer!.digest);
  const [, tX] = await timeAsync(() =>
    fresh.unpack({ chainId: layer!.diffId as Digest, diffId: layer!.diffId, mediaType: layer!.mediaType, open: async () => fs.createReadStream(blob) }),
  );
  fs.mkdirSync(join(work, `tarx-${name}`));
  const [, tTarX] = timeIt(() => sh(`tar -xzf ${blob} -C ${work}/tarx-${name}`));

  const r = (x: number) => x.toFixed(1);
  console.log(`\n## ${name}: ${r(tarBytes / 1e6)} MB of tar`);
  console.log(`commit  rbuild ${r(mbps(tarBytes, tRb))} MB/s (${layer!.size} B) | tar|pigz -p2 ${r(mbps(tarBytes, tPigz))} MB/s (${pigzSize} B) | tar|gzip ${r(mbps(tarBytes, tGzip))} MB/s`);
  console.log(`        rbuild/pigz ${(tPigz / tRb).toFixed(2)}  rbuild/gzip ${(tGzip / tRb).toFixed(2)}`);
  console.log(`extract rbuild ${r(mbps(tarBytes, tX))} MB/s | tar -xzf ${r(mbps(tarBytes, tTarX))} MB/s | rbuild/tar ${(tTarX / tX).toFixed(2)}`);
  fs.rmSync(join(work, `fresh-${name}`), { recursive: true, force: true });
  fs.rmSync(join(work, `tarx-${name}`), { recursive: true, force: true });
  fs.rmSync(join(work, 'blobs'), { recursive: true, force: true });
}

/**
 * The harness's hook (bench/README.md): `commit DIR` makes the gzip layer of
 * a tree exactly as a snapshot commit does (walk, tar, parallel gzip, both
 * digests) and throws it away; `extract LAYER.tar.gz DIR` applies a layer as a
 * pull's unpack does. Neither needs a mount, so they run as the bench user.
 */
async function hook(mode: string): Promise<void> {
  const nullSink = {
    async write(data: AsyncIterable<Uint8Array> | NodeJS.ReadableStream, expected?: { digest?: string }): Promise<{ digest: string; size: number }> {
      // Nothing is stored, but the bytes are hashed as the store would.
      const { createHash } = await import('node:crypto');
      const h = createHash('sha256');
      let size = 0;
      for await (const chunk of data as AsyncIterable<Uint8Array>) {
        h.update(chunk);
        size += chunk.length;
      }
      return { digest: expected?.digest ?? `sha256:${h.digest('hex')}`, size };
    },
  };
  if (mode === 'commit') {
    const { layerFromDirectory } = await import('../snapshotter/diff.js');
    await layerFromDirectory(process.argv[3]!, nullSink, { compression: 'gzip' });
  } else {
    // A pull unpacks inside the build namespace (owners are mapped there): measure it there too.
    const { ensureBuildNamespace } = await import('../builder/sandbox/userns.js');
    const r = await ensureBuildNamespace();
    if (r.kind === 'exited') process.exit(r.code);
    const { extractLayer } = await import('../snapshotter/extract.js');
    await extractLayer(fs.createReadStream(process.argv[3]!), 'application/vnd.oci.image.layer.v1.tar+gzip', process.argv[4]!, undefined);
  }
}

if (process.argv[2] === 'commit' || process.argv[2] === 'extract') {
  await hook(process.argv[2]);
  process.exit(0);
}

const work = fs.mkdtempSync(join(process.env.RBUILD_BENCH_DIR ?? tmpdir(), 'rbuild-bench-'));
try {
  await one('bigfile', fillBig, work);
  await one('manyfiles', fillSmall, work);
  console.log(`\npeak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (whole process, generation included)`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
