/** The bench's command line, parsed without effects. */

/** What `npm run bench -- ...` asks for. */
export interface BenchOptions {
  /** Small sizes and one timed run per figure: the whole bench in under 3 minutes. */
  quick: boolean;
  /** Case names to run (all when empty). */
  cases: string[];
  /** Timed runs per figure and tool (median of these). */
  runs: number;
  /** Untimed runs before the timed ones. */
  warmup: number;
  /** Where to write the JSON (default bench/results/<date>.json). */
  out?: string;
  /** A world-readable copy of the built app to run (default: make one from this checkout). */
  app?: string;
  /** Install missing peers with apt-get (default when root). */
  install: boolean;
  /** Skip the layer-level figures (commit, extract). */
  layers: boolean;
}

/** Bad command-line input. */
export class BenchArgsError extends Error {
  code = 'EBENCHARGS';
  constructor(message: string) {
    super(message);
    this.name = 'BenchArgsError';
  }
}

/** The usage text. */
export const USAGE = `usage: npm run bench -- [--quick] [--cases tiny,multistage] [--runs N] [--warmup N]
                        [--out FILE] [--app DIR] [--no-install] [--no-layers]`;

function count(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min) throw new BenchArgsError(`${name} needs an integer >= ${min}`);
  return n;
}

/** Parses argv (without node and the script). Defaults: quick 1 run and no warm-up; full 1 warm-up and 3 runs. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = { quick: false, cases: [], runs: NaN, warmup: NaN, install: true, layers: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new BenchArgsError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick':
        o.quick = true;
        break;
      case '--cases':
        o.cases = value().split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case '--runs':
        o.runs = count('--runs', value(), 1);
        break;
      case '--warmup':
        o.warmup = count('--warmup', value(), 0);
        break;
      case '--out':
        o.out = value();
        break;
      case '--app':
        o.app = value();
        break;
      case '--no-install':
        o.install = false;
        break;
      case '--no-layers':
        o.layers = false;
        break;
      case '-h':
      case '--help':
        throw new BenchArgsError(USAGE);
      default:
        throw new BenchArgsError(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (Number.isNaN(o.runs)) o.runs = o.quick ? 1 : 3;
  if (Number.isNaN(o.warmup)) o.warmup = o.quick ? 0 : 1;
  return o;
}
