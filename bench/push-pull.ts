/**
 * `node dist/bench/push-pull.js [--quick] [--runs N] [--no-fsync] [--places disk,tmpfs]`: rbuild's push and pull
 * against `skopeo copy` between the same places (an OCI layout store and a
 * fresh local registry): 8 layers x 64 MiB plus one of 512 MiB (--quick: a
 * tenth). Runs alternate which tool goes first; each run gets fresh
 * registries so nothing is skipped as already there. Prints medians and ratios,
 * and the floor: the same blobs uploaded by `curl -T` (one POST + one PUT each,
 * 4 at a time, largest first) to a third fresh registry, which is what the
 * registry itself costs (it hashes, writes and fsyncs every blob).
 * Each figure is measured twice: with the registries' storage and the pull
 * stores on disk (the original figure, bound by the disk's fsyncs) and on
 * tmpfs (what the tools themselves cost); see bench/README.md.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryClient } from '../registry/remote/client.js';
import { pullImage } from '../registry/remote/pull.js';
import { pushImage } from '../registry/remote/push.js';
import { makeTestImage } from '../registry/remote/test-image.js';
import { bySizeDescending } from '../registry/remote/schedule.js';
import type { Descriptor, Manifest } from '../registry/oci/types.js';
import { openStore } from '../registry/store/oci-layout-store.js';
import { startRegistry } from './lib/registry.js';

const MiB = 1 << 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const execFileAsync = promisify(execFile);

/** Uploads each blob with curl (POST for a session, then `curl -T` PUT), `jobs` at a time: the registry's own cost. */
async function curlUpload(host: string, blobs: Descriptor[], pathOf: (d: Descriptor) => string, jobs = 4): Promise<void> {
  const limit = pLimit(jobs);
  await Promise.all(
    bySizeDescending(blobs).map((d) =>
      limit(async () => {
        const res = await fetch(`http://${host}/v2/bench/floor/blobs/uploads/`, { method: 'POST' });
        const loc = new URL(res.headers.get('location')!, `http://${host}`);
        loc.searchParams.set('digest', d.digest);
        await execFileAsync('curl', ['-sSf', '-o', '/dev/null', '-T', pathOf(d), '-H', 'content-type: application/octet-stream', '-X', 'PUT', loc.href]);
      }),
    ),
  );
}

/** Where the registries' storage and the pull stores live for one set of figures. */
interface Place {
  name: 'disk' | 'tmpfs';
  dir: string;
}

type Times = { rbuildPush: number[]; skopeoPush: number[]; rbuildPull: number[]; skopeoPull: number[]; curlPush: number[] };

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const runs = Number(arg('--runs') ?? 3);
  const scale = quick ? 0.1 : 1;
  // --no-fsync: pull into a store that skips fsync, to see what durability costs.
  const fsync = !process.argv.includes('--no-fsync');
  // --places disk,tmpfs (default both): where the registries store blobs and where pulls write.
  const placeNames = (arg('--places') ?? 'disk,tmpfs').split(',');
  const layers = [...Array(8).fill(Math.round(64 * MiB * scale)), Math.round(512 * MiB * scale)] as number[];
  const work = mkdtempSync(join(tmpdir(), 'rbuild-bench-pp-'));
  const shm = placeNames.includes('tmpfs') ? mkdtempSync(join('/dev/shm', 'rbuild-bench-pp-')) : undefined;
  const places: Place[] = placeNames.map((n) => (n === 'tmpfs' ? { name: 'tmpfs', dir: shm! } : { name: 'disk', dir: work }));
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  try {
    const src = await openStore(join(work, 'src'));
    log(`making an image of ${layers.length} layers, ${Math.round(layers.reduce((a, b) => a + b, 0) / MiB)} MiB`);
    const desc = await makeTestImage(src, { layers });
    await src.tag('bench/pp:1', desc);
    const times = new Map<string, Times>(places.map((p) => [p.name, { rbuildPush: [], skopeoPush: [], rbuildPull: [], skopeoPull: [], curlPush: [] }]));
    const manifest = JSON.parse((await src.readBytes(desc.digest)).toString('utf8')) as Manifest;
    const blobs = [manifest.config, ...manifest.layers];
    for (let run = 0; run < runs; run++) {
      for (const place of places) {
        const t = times.get(place.name)!;
        const regA = await startRegistry({ parent: place.dir });
        const regB = await startRegistry({ parent: place.dir });
        const client = createRegistryClient();
        try {
          const rbuildPush = (): Promise<number> => timed(() => pushImage(src, desc, `${regA.host}/bench/pp:1`, { client }));
          const skopeoPush = (): Promise<number> =>
            timed(() => execFileSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${join(work, 'src', 'oci')}:bench/pp:1`, `docker://${regB.host}/bench/pp:1`]));
          const order = run % 2 === 0 ? ['r', 's'] : ['s', 'r'];
          for (const who of order) {
            if (who === 'r') t.rbuildPush.push(await rbuildPush());
            else t.skopeoPush.push(await skopeoPush());
          }
          for (const who of order) {
            const dest = join(place.dir, `pull-${who}-${run}`);
            if (who === 'r') {
              const store = await openStore(dest, { fsync });
              t.rbuildPull.push(await timed(() => pullImage(`${regA.host}/bench/pp:1`, store, { client })));
            } else {
              t.skopeoPull.push(await timed(() => execFileSync('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${regB.host}/bench/pp:1`, `oci:${dest}:pp`])));
            }
            rmSync(dest, { recursive: true, force: true });
          }
          const regC = await startRegistry({ parent: place.dir });
          try {
            t.curlPush.push(await timed(() => curlUpload(regC.host, blobs, (d) => src.blobPath(d.digest))));
          } finally {
            await regC.stop();
          }
          log(`run ${run + 1} (${place.name}): floor (curl -T) ${t.curlPush.at(-1)!.toFixed(2)}s; push rbuild ${t.rbuildPush.at(-1)!.toFixed(2)}s skopeo ${t.skopeoPush.at(-1)!.toFixed(2)}s; pull rbuild ${t.rbuildPull.at(-1)!.toFixed(2)}s skopeo ${t.skopeoPull.at(-1)!.toFixed(2)}s`);
        } finally {
          await client.close();
          await regA.stop();
          await regB.stop();
        }
      }
    }
    const row = (name: string, r: number[], s: number[]): string => {
      const ratio = median(r) / median(s);
      return `${name.padEnd(6)} rbuild ${median(r).toFixed(2)}s  skopeo ${median(s).toFixed(2)}s  ratio ${ratio.toFixed(2)} (target <= 0.60: ${ratio <= 0.6 ? 'met' : 'missed'})`;
    };
    for (const place of places) {
      const t = times.get(place.name)!;
      const where = place.name === 'disk'
        ? 'registry storage and pull stores on disk (the original figure: mostly the disk, see bench/README.md)'
        : 'registry storage and pull stores on tmpfs (/dev/shm: the tools, not the disk)';
      process.stdout.write(`${where}\n`);
      process.stdout.write(`${row('push', t.rbuildPush, t.skopeoPush)}\n${row('pull', t.rbuildPull, t.skopeoPull)}\n`);
      process.stdout.write(`floor  curl -T of the same blobs (4 at a time): ${median(t.curlPush).toFixed(2)}s; rbuild push / floor ${(median(t.rbuildPush) / median(t.curlPush)).toFixed(2)}\n`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (shm) rmSync(shm, { recursive: true, force: true });
  }
}

await main();
