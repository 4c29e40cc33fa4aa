/**
 * `npm run bench [-- --quick] [--cases a,b] [--runs N]`: rbuild against buildah,
 * skopeo, tar, pigz and gzip on the same machine in the same run, as the
 * unprivileged user rbuild-test; a table on stdout, JSON in bench/results/.
 * Progress goes to stderr. A failing rbuild command is a figure's error, never a crash.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeAppCopy, TEST_USER } from '../test/support/unprivileged.js';
import { copyAppFrom } from './lib/app-copy.js';
import { selectCases } from './cases/index.js';
import { BenchArgsError, parseBenchArgs, type BenchOptions } from './lib/args.js';
import { pushBaseImages } from './lib/base-images.js';
import { ensurePeers, peerVersions } from './lib/peers.js';
import { startRegistry, type BenchRegistry } from './lib/registry.js';
import { formatReport } from './lib/report.js';
import { removeDeferred, runCase } from './lib/run-case.js';
import { judgeTargets } from './lib/targets.js';
import type { BenchResult, Figure, MachineInfo } from './lib/types.js';

/** The checkout this module belongs to (works from bench/ and from dist/bench/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** This machine, and the versions of the peers. */
export function machineInfo(): MachineInfo {
  const cpu = cpus();
  return {
    hostname: hostname(),
    kernel: release(),
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memMiB: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    tools: peerVersions(),
  };
}

/** Runs the bench; returns the result and where its JSON was written. */
export async function runBench(o: BenchOptions, log: (line: string) => void, signal?: AbortSignal): Promise<{ result: BenchResult; out: string }> {
  const started = new Date();
  const t0 = process.hrtime.bigint();
  const cases = selectCases(o.cases);
  ensurePeers({ install: o.install, log });
  const app = o.app ?? copyAppFrom(repoRoot());
  let registry: BenchRegistry | undefined;
  const figures: Figure[] = [];
  const problems: string[] = [];
  const out = resolve(o.out ?? join(repoRoot(), 'bench/results', `${started.toISOString().slice(0, 16).replace(':', '')}${o.quick ? '-quick' : ''}.json`));
  const result = (): BenchResult => ({
    schema: 'rbuild-bench/1',
    date: started.toISOString(),
    machine: machineInfo(),
    options: { quick: o.quick, runs: o.runs, warmup: o.warmup, cases: cases.map((c) => c.name), user: TEST_USER },
    figures,
    targets: judgeTargets(figures),
    problems,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
  });
  // Written after every case too, so that an interrupted run keeps what it measured.
  const save = (): BenchResult => {
    const r = result();
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(r, null, 2) + '\n');
    return r;
  };
  try {
    registry = await startRegistry({ signal });
    log(`registry on ${registry.host}; base images: ${[...new Set(cases.flatMap((c) => c.bases))].join(', ')}`);
    await pushBaseImages(registry.host, cases.flatMap((c) => c.bases), o.quick, signal);
    for (const c of cases) {
      const r = await runCase(c, {
        app,
        registry: registry.host,
        user: TEST_USER,
        quick: o.quick,
        runs: o.runs,
        warmup: o.warmup,
        layers: o.layers,
        timeoutSeconds: o.quick ? 300 : 1800,
        signal,
        log,
      });
      figures.push(...r.figures);
      problems.push(...r.problems);
      save();
    }
  } finally {
    await registry?.stop();
    removeDeferred();
    if (!o.app) removeAppCopy(app);
  }
  return { result: save(), out };
}

async function main(): Promise<void> {
  let o: BenchOptions;
  try {
    o = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof BenchArgsError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('rbuild bench: run as root (it installs peers, and runs every tool as the unprivileged user rbuild-test)\n');
    process.exit(2);
  }
  const ac = new AbortController();
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => ac.abort(new Error(`interrupted by ${s}`)));
  const t0 = Date.now();
  const log = (l: string): void => void process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${l}\n`);
  const { result, out } = await runBench(o, log, ac.signal);
  process.stdout.write(`${formatReport(result)}\nJSON: ${out}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: Error) => {
    process.stderr.write(`rbuild bench: ${e.message}\n`);
    process.exit(1);
  });
}
