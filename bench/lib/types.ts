/**
 * The shape of a bench result (bench/results/<date>.json), schema `rbuild-bench/1`.
 * Times are seconds of wall clock, sizes bytes, memory KiB.
 */

/** The figures measured per case. */
export type FigureName = 'cold' | 'noop' | 'change' | 'push' | 'pull' | 'commit' | 'extract';

/** One tool's runs for one figure. */
export interface Measurement {
  /** `rbuild`, `buildah`, `buildah-push`, `skopeo`, `pigz`, `gzip`, `tar`. */
  tool: string;
  /** The command of the last run (argv joined with spaces), to reproduce it by hand. */
  command: string;
  /** Seconds of each timed run, in order. */
  runs: number[];
  median: number | null;
  min: number | null;
  max: number | null;
  /** Highest peak resident set size over the runs (GNU time %M), null when not measurable. */
  peakRssKiB: number | null;
  /** For layer figures: uncompressed bytes per second of the median run, in MB/s (10^6). */
  mbps?: number | null;
  /** Set when a run failed: the first line of its stderr. No figure is then given. */
  error?: string;
}

/** One figure of one case: rbuild and its peers, run alternately. */
export interface Figure {
  case: string;
  figure: FigureName;
  /** For layer figures: the size of the uncompressed tar stream. */
  bytes?: number;
  rbuild: Measurement;
  peers: Measurement[];
  /** rbuild's median over each peer's median (lower is better for rbuild), null when either is missing. */
  ratios: Record<string, number | null>;
}

/** One line of the targets table, judged over every case that has it. */
export interface TargetLine {
  figure: string;
  /** As written in the issue, e.g. `<= 0.7 x buildah`. */
  target: string;
  /** Per case: the compared value (a ratio, or MiB for memory), null when rbuild has no number. */
  values: { case: string; value: number | null }[];
  /** true when every case with a number meets it, false when one does not, null when none has a number. */
  met: boolean | null;
}

/** The machine the run was on. */
export interface MachineInfo {
  hostname: string;
  kernel: string;
  cpus: number;
  cpuModel: string;
  memMiB: number;
  node: string;
  tools: Record<string, string>;
}

/** A whole bench run. */
export interface BenchResult {
  schema: 'rbuild-bench/1';
  /** ISO date of the start of the run. */
  date: string;
  machine: MachineInfo;
  options: { quick: boolean; runs: number; warmup: number; cases: string[]; user: string };
  figures: Figure[];
  targets: TargetLine[];
  /** Problems of the harness itself (a case it could not prepare), one line each. */
  problems: string[];
  /** Total wall-clock seconds of the run. */
  seconds: number;
}
