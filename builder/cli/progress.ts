/**
 * Renders build events: `plain` (step numbers and logs, for CI logs),
 * `json` (one event per line, for tools), `tty` (a live view of running steps
 * and transfers, redrawn in place) and `quiet`. `rbuild pull` and `rbuild
 * push` use the same renderers with their pull/push and blob events.
 */
import type { BuildEvent } from '../build/events.js';
import { stderrOut } from './stderr-out.js';
import { PlainProgress } from './progress-plain.js';
import { JsonBlobThrottle } from './progress-blobs.js';
import { LiveView } from './progress-live.js';

export { gitlabSection } from './progress-plain.js';
export { formatBytes } from './progress-format.js';

/** A progress mode as `--progress` names it. */
export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json' | 'quiet';

/** The end of a build (or pull, or push): what the summary shows. */
export interface ProgressSummary {
  digest?: string;
  tags: string[];
  size?: number;
  error?: string;
}

/** Something that consumes events and can summarise at the end. */
export interface ProgressRenderer {
  event(e: BuildEvent): void;
  /** Prints the final summary lines (digest, tags, per-step times). */
  finish(summary: ProgressSummary): void;
}

/** The choices `--progress` offers. */
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'tty', 'plain', 'json', 'quiet'];

/**
 * Chooses and creates a renderer; `auto` is tty on a terminal, plain otherwise (CI logs).
 * In plain mode under GitLab CI (`GITLAB_CI=true`) each step is a collapsible log section.
 * `now` is the clock (tests give a fake one).
 */
export function createProgress(
  mode: ProgressMode,
  out: NodeJS.WriteStream = stderrOut(),
  env: NodeJS.ProcessEnv = process.env,
  now: () => number = Date.now,
): ProgressRenderer {
  const resolved = mode === 'auto' ? (out.isTTY ? 'tty' : 'plain') : mode;
  if (resolved === 'json') return new JsonProgress(out, now);
  if (resolved === 'quiet') return { event() {}, finish() {} };
  if (resolved === 'tty') return new TtyProgress(out, now);
  return new PlainProgress(out, false, env.GITLAB_CI === 'true', now);
}

/** How often the live area is redrawn while something runs: bytes and output lines wait for it. */
const REDRAW_MS = 120;

/**
 * The terminal writer: permanent lines scroll up above a live area that is
 * erased and redrawn (on a timer, and at once when a step starts or ends).
 * What to show is LiveView's (progress-live.ts); this only moves the cursor.
 */
class TtyProgress implements ProgressRenderer {
  private readonly live = new LiveView();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WriteStream, private readonly now: () => number) {}

  event(e: BuildEvent): void {
    if (this.live.event(e, this.now())) this.draw();
    if (this.live.busy) this.timer ??= setInterval(() => this.draw(), REDRAW_MS).unref();
  }

  private draw(): void {
    // A pty nobody sized (script(1), some CI runners) reports 0 columns: assume a common width.
    const cols = this.out.columns || 100;
    const rows = this.out.rows || 0;
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A\x1b[J` : '';
    text += this.live.take().join('');
    const live = this.live.live(this.now(), cols, rows > 3 ? rows - 2 : 40);
    text += live.map((l) => `${l}\n`).join('');
    this.drawn = live.length;
    this.out.write(text);
    if (!this.live.busy && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  finish(summary: ProgressSummary): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.live.finish(summary);
    this.draw();
  }
}

class JsonProgress implements ProgressRenderer {
  private blobs: JsonBlobThrottle | undefined;
  constructor(private readonly out: NodeJS.WritableStream, private readonly now: () => number) {}
  event(e: BuildEvent): void {
    const t = this.now();
    if (e.type === 'blob' && !(this.blobs ??= new JsonBlobThrottle()).pass(e, t)) return;
    this.out.write(`${JSON.stringify({ time: new Date(t).toISOString(), ...e })}\n`);
  }
  finish(summary: ProgressSummary): void {
    this.out.write(`${JSON.stringify({ time: new Date(this.now()).toISOString(), type: 'result', ...summary })}\n`);
  }
}
