/**
 * One case, all its figures: cold build, no-op rebuild, one-file-change
 * rebuild, push to a fresh repository, pull into an empty store, and for cases
 * with a layer directory the layer commit and extraction against tar, pigz and gzip.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirFor, tempDirFor } from '../../test/support/unprivileged.js';
import type { BenchCase } from '../cases/case.js';
import { runFigure, type Contender } from './figures.js';
import { runTimed } from './exec.js';
import * as t from './tools.js';
import type { Figure, FigureName } from './types.js';

/** What every case is run with. */
export interface CaseContext {
  app: string;
  registry: string;
  user: string;
  quick: boolean;
  runs: number;
  warmup: number;
  layers: boolean;
  timeoutSeconds: number;
  signal?: AbortSignal;
  log: (line: string) => void;
}

/**
 * Directories the bench is done with, removed only when the whole run ends: the
 * project's file system is ext4 without a journal, where inodes freed in the last
 * 60-300 s are skipped (and scanned) when new ones are allocated, so deleting a
 * 100,000-file store makes the next file-heavy figure several times slower. Deleting
 * between figures would charge that to whichever tool runs next.
 */
const deferred: string[] = [];

/** Removes every directory the cases left for later (call once, at the end of the run). */
export function removeDeferred(): void {
  for (const d of deferred.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Temp directories owned by the bench user; dropped ones are removed at the end of the run. */
class Scratch {
  private readonly dirs: string[] = [];
  constructor(private readonly user: string) {}
  /** A fresh directory owned by the user. */
  make(prefix: string): string {
    const d = tempDirFor(this.user, `rbuild-bench-${prefix}-`);
    this.dirs.push(d);
    return d;
  }
  /** Marks one directory as no longer needed (a cold store); removed with removeDeferred(). */
  drop(dir: string | undefined): void {
    if (!dir) return;
    const i = this.dirs.indexOf(dir);
    if (i >= 0) this.dirs.splice(i, 1);
    deferred.push(dir);
  }
  /** Hands everything made over to removeDeferred(). */
  clear(): void {
    deferred.push(...this.dirs.splice(0));
  }
}

/** A fresh buildah store: storage.conf (native overlay), and the runtime dir buildah wants 0700. */
function newBuildahStore(scratch: Scratch, user: string): t.BuildahStore {
  const store = { dir: scratch.make('buildah') };
  writeFileSync(join(store.dir, 'storage.conf'), t.buildahStorageConf(store), { mode: 0o644 });
  chmodSync(mkdirFor(user, join(store.dir, 'runtime')), 0o700);
  mkdirFor(user, join(store.dir, 'data'));
  return store;
}

/** Runs every figure of a case; returns the figures and any preparation problems. */
export async function runCase(c: BenchCase, cx: CaseContext): Promise<{ figures: Figure[]; problems: string[] }> {
  const figures: Figure[] = [];
  const problems: string[] = [];
  const scratch = new Scratch(cx.user);
  const work = mkdtempSync(join(tmpdir(), `rbuild-bench-${c.name}-`));
  chmodSync(work, 0o755);
  try {
    const ctxDir = join(work, 'context');
    cx.log(`${c.name}: writing the context`);
    await c.write(ctxDir, { registry: cx.registry, quick: cx.quick });
    execFileSync('chmod', ['-R', 'a+rX', work]);
    const spec: t.BuildSpec = { tag: `bench-${c.name}`, dockerfile: join(ctxDir, 'Dockerfile'), context: ctxDir, buildArgs: c.buildArgs };
    const base = { case: c.name, user: cx.user, warmup: cx.warmup, runs: cx.runs, timeoutSeconds: cx.timeoutSeconds, signal: cx.signal, log: cx.log };
    const fig = async (figure: FigureName, contenders: Contender[], extra: { beforeRound?: (i: number) => Promise<void>; bytes?: number } = {}) => {
      cx.log(`${c.name}: ${figure}`);
      const f = await runFigure({ ...base, figure, contenders, ...extra });
      figures.push(f);
      return f;
    };

    // Cold: every run in an empty store; the last store stays for the rebuilds and the push.
    let rbuildRoot: string | undefined;
    let store: t.BuildahStore | undefined;
    await fig('cold', [
      {
        tool: 'rbuild',
        before: () => {
          scratch.drop(rbuildRoot);
          rbuildRoot = scratch.make('rbuild');
        },
        argv: () => t.rbuildBuild(cx.app, rbuildRoot!, spec),
      },
      {
        tool: 'buildah',
        before: () => {
          scratch.drop(store?.dir);
          store = newBuildahStore(scratch, cx.user);
        },
        argv: () => t.buildahBud(store!, spec),
        env: () => t.buildahEnv(store!),
      },
    ]);
    const rebuild = (): Contender[] => [
      { tool: 'rbuild', argv: () => t.rbuildBuild(cx.app, rbuildRoot!, spec) },
      { tool: 'buildah', argv: () => t.buildahBud(store!, spec), env: () => t.buildahEnv(store!) },
    ];
    await fig('noop', rebuild());
    await fig('change', rebuild(), { beforeRound: (i) => c.change(ctxDir, i + 1) });

    // Push: to a fresh repository per run; skopeo's source is buildah's image exported to an OCI layout.
    const repo = (tool: string, i: number): string => `${cx.registry}/bench/${c.name}-${tool}-${i}:latest`;
    const exportDir = join(scratch.make('export'), 'oci');
    const exported = await runTimed(cx.user, { argv: t.buildahExportOci(store!, spec.tag, exportDir), env: t.buildahEnv(store!), timeoutSeconds: cx.timeoutSeconds });
    const freshData = (): Record<string, string> => ({ ...t.buildahEnv(store!), XDG_DATA_HOME: scratch.make('data') });
    await fig('push', [
      { tool: 'rbuild', argv: (i) => t.rbuildPush(cx.app, rbuildRoot!, spec.tag, repo('rbuild', i)) },
      {
        tool: 'skopeo',
        argv: (i) => t.skopeoPush(exportDir, repo('skopeo', i)),
        env: freshData,
        ...(exported.error ? { unavailable: `exporting buildah's image: ${exported.error}` } : {}),
      },
      // buildah push recompresses from its store: informative, not a target, and slow: full runs only.
      ...(cx.quick ? [] : [{ tool: 'buildah-push', argv: (i: number) => t.buildahPush(store!, spec.tag, repo('buildah', i)), env: freshData }]),
    ]);

    // Pull: the image skopeo pushed, into an empty store each run.
    const pullRef = repo('skopeo', 0);
    let pullRoot: string | undefined;
    let pullDir: string | undefined;
    await fig('pull', [
      {
        tool: 'rbuild',
        before: () => {
          scratch.drop(pullRoot);
          pullRoot = scratch.make('rbuild-pull');
        },
        argv: () => t.rbuildPull(cx.app, pullRoot!, pullRef),
      },
      {
        tool: 'skopeo',
        before: () => {
          scratch.drop(pullDir);
          pullDir = scratch.make('skopeo-pull');
        },
        argv: () => t.skopeoPull(pullRef, join(pullDir!, 'oci')),
        env: () => ({ XDG_DATA_HOME: join(pullDir!, 'data') }),
      },
    ]);

    if (cx.layers && c.layerDir) await layerFigures(join(ctxDir, c.layerDir), work, scratch, cx, fig);
  } catch (e) {
    if (cx.signal?.aborted) throw e;
    problems.push(`${c.name}: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    scratch.clear();
    deferred.push(work);
  }
  return { figures, problems };
}

type Fig = (figure: FigureName, contenders: Contender[], extra?: { bytes?: number }) => Promise<Figure>;

/** Layer commit (rbuild's hook vs tar|pigz, tar|gzip) and extraction (vs tar -xzf) of one tree. */
async function layerFigures(layerDir: string, work: string, scratch: Scratch, cx: CaseContext, fig: Fig): Promise<void> {
  const bytes = Number(execFileSync('sh', ['-c', 'tar -cf - -C "$1" . | wc -c', 'sh', layerDir], { encoding: 'utf8' }).trim());
  const hook = join(cx.app, 'dist/bench/layer-commit.js');
  const noHook = existsSync(hook) ? {} : { unavailable: `${hook} is missing (the snapshotter's bench/layer-commit.ts)` };
  await fig(
    'commit',
    [
      { tool: 'rbuild', argv: () => t.rbuildLayerCommit(cx.app, layerDir), ...noHook },
      { tool: 'pigz', argv: () => t.tarCompress(layerDir, 'pigz') },
      // single-core gzip: the floor, informative only: full runs only.
      ...(cx.quick ? [] : [{ tool: 'gzip', argv: () => t.tarCompress(layerDir, 'gzip') }]),
    ],
    { bytes },
  );
  const archive = join(work, 'layer.tar.gz');
  execFileSync('sh', ['-c', 'tar -cf - -C "$1" . | pigz -p 2 -6 > "$2"', 'sh', layerDir, archive]);
  chmodSync(archive, 0o644);
  let dest: string | undefined;
  const fresh = (): void => {
    scratch.drop(dest);
    dest = scratch.make('extract');
  };
  await fig(
    'extract',
    [
      { tool: 'rbuild', before: fresh, argv: () => t.rbuildLayerExtract(cx.app, archive, dest!), ...noHook },
      { tool: 'tar', before: fresh, argv: () => t.tarExtract(archive, dest!) },
    ],
    { bytes },
  );
}
