/**
 * Runs the contenders of one figure alternately (A B A B ...), warm-up runs
 * first, and turns their timed runs into measurements. A contender that fails
 * once is recorded with its error and not run again: the bench goes on.
 */
import { ratio, summarize } from './stats.js';
import { runTimed } from './exec.js';
import type { Figure, FigureName, Measurement } from './types.js';

/** One tool taking part in a figure. */
export interface Contender {
  tool: string;
  /** Untimed preparation before each run `i` (a fresh store, say). */
  before?: (i: number) => Promise<void> | void;
  argv: (i: number) => string[];
  env?: (i: number) => Record<string, string>;
  /** Set when the tool cannot run at all (its error, recorded without running). */
  unavailable?: string;
}

/** How to run a figure. */
export interface FigurePlan {
  case: string;
  figure: FigureName;
  user: string;
  /** The first contender is rbuild. */
  contenders: Contender[];
  warmup: number;
  runs: number;
  /** Untimed step before each round of contenders (the one-file change). */
  beforeRound?: (i: number) => Promise<void>;
  /** Uncompressed bytes, for a throughput in MB/s. */
  bytes?: number;
  timeoutSeconds: number;
  signal?: AbortSignal;
  /** Progress lines (the CLI prints them on stderr). */
  log?: (line: string) => void;
}

/** Runs a figure and returns it with ratios of rbuild's median over each peer's. */
export async function runFigure(p: FigurePlan): Promise<Figure> {
  const ms: Measurement[] = p.contenders.map((c) => ({
    tool: c.tool,
    command: '',
    runs: [],
    median: null,
    min: null,
    max: null,
    peakRssKiB: null,
    ...(c.unavailable ? { error: c.unavailable } : {}),
  }));
  for (let i = 0; i < p.warmup + p.runs; i++) {
    p.signal?.throwIfAborted();
    if (p.beforeRound) await p.beforeRound(i);
    for (let k = 0; k < p.contenders.length; k++) {
      const c = p.contenders[k]!;
      const m = ms[k]!;
      if (m.error) continue;
      try {
        await c.before?.(i);
      } catch (e) {
        m.error = `preparing: ${(e as Error).message.split('\n')[0]}`;
        continue;
      }
      const argv = c.argv(i);
      m.command = argv.join(' ');
      const run = await runTimed(p.user, { argv, env: c.env?.(i), timeoutSeconds: p.timeoutSeconds, signal: p.signal });
      p.signal?.throwIfAborted();
      const warm = i < p.warmup;
      p.log?.(`  ${p.case} ${p.figure} ${c.tool}${warm ? ' (warm-up)' : ''}: ${run.error ? `error: ${run.error}` : `${run.seconds.toFixed(3)} s`}`);
      if (run.error) {
        m.error = run.error;
        continue;
      }
      if (warm) continue;
      m.runs.push(run.seconds);
      if (run.peakRssKiB != null) m.peakRssKiB = Math.max(m.peakRssKiB ?? 0, run.peakRssKiB);
    }
  }
  for (const m of ms) {
    if (m.error || m.runs.length === 0) continue;
    Object.assign(m, summarize(m.runs));
    if (p.bytes) m.mbps = p.bytes / m.median! / 1e6;
  }
  const [rbuild, ...peers] = ms;
  const ratios: Record<string, number | null> = {};
  for (const peer of peers) ratios[peer.tool] = ratio(rbuild!.error ? null : rbuild!.median, peer.error ? null : peer.median);
  const fig: Figure = { case: p.case, figure: p.figure, rbuild: rbuild!, peers, ratios };
  if (p.bytes) fig.bytes = p.bytes;
  return fig;
}
