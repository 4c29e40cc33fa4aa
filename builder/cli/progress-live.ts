/**
 * The terminal view as data: events and the time go in; out come lines to
 * print once (finished steps and transfers, warnings, the summary) and the
 * live area to redraw in place (running steps with their elapsed time and
 * last output lines; pulls and pushes with a bar per moving blob). The writer
 * in progress.ts only moves the cursor.
 */
import type { BuildEvent } from '../build/events.js';
import type { ProgressSummary } from './progress.js';
import { PlainProgress } from './progress-plain.js';
import { BlobBoard, transferKey } from './progress-blobs.js';
import { formatBytes, formatSecs, stageLabel } from './progress-format.js';

const CYAN = '\x1b[36m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

/** Output lines of a running step kept for the live area. */
const TAIL = 3;

/** The live terminal view of a build, a pull or a push. */
export class LiveView {
  private readonly plain: PlainProgress;
  private readonly permanent: string[] = [];
  private readonly running = new Map<string, { head: string; started: number; tail: string[] }>();
  private readonly transfers = new Map<string, { head: string; started: number }>();
  private readonly blobs = new BlobBoard();

  constructor() {
    // Numbering, the per-step times of the summary and the one-line events come from the plain renderer.
    this.plain = new PlainProgress({ write: (s: string) => (this.permanent.push(s), true) } as unknown as NodeJS.WritableStream, true);
  }

  /** Something is live: the writer keeps redrawing. */
  get busy(): boolean {
    return this.running.size > 0 || this.transfers.size > 0;
  }

  /**
   * Takes an event that happened at `now`; true when the screen should change at once (new
   * permanent lines, a new live entry). Output lines and blob bytes wait for the next redraw.
   */
  event(e: BuildEvent, now: number): boolean {
    switch (e.type) {
      case 'step-start':
        this.running.set(e.step, { head: `[${stageLabel(e.stage)} ${e.index}/${e.total}] ${e.text}`, started: now, tail: [] });
        this.quietly(e); // numbers the step; the live area shows it while it runs
        return true;
      case 'step-log': {
        const r = this.running.get(e.step);
        if (r) {
          // Long lines are cut here already: the live area never shows more than a screen's width.
          for (const l of e.data.split('\n')) if (l.trim() !== '') r.tail.push(l.slice(0, 400));
          r.tail.splice(0, Math.max(0, r.tail.length - TAIL));
        }
        return false;
      }
      case 'step-done':
      case 'step-error': {
        const r = this.running.get(e.step);
        this.running.delete(e.step);
        if (r) this.permanent.push(`${r.head}\n`);
        this.permanent.push(e.type === 'step-done' ? `  \x1b[32mDONE${RESET} ${formatSecs(e.ms)}\n` : `  \x1b[31mERROR${RESET} ${e.message}\n`);
        // The summary's times; the plain DONE line is dropped: ours is above.
        this.quietly({ type: 'step-done', step: e.step, ms: e.type === 'step-done' ? e.ms : 0 });
        return true;
      }
      case 'pull':
      case 'push': {
        const key = transferKey(e.type, e.ref);
        if (e.phase === 'start') {
          this.transfers.set(key, { head: `${e.type === 'pull' ? 'pulling' : 'pushing'} ${e.ref}`, started: now });
          return true;
        }
        const t = this.transfers.get(key);
        this.transfers.delete(key);
        const took = t ? ` ${formatSecs(now - t.started)}` : '';
        this.permanent.push(e.type === 'pull' ? `pulled ${e.ref} (${e.layers} layers, ${formatBytes(e.bytes ?? 0)})${took}\n` : `pushed ${e.ref}@${e.digest}${took}\n`);
        for (const l of this.blobs.close(key, now, Infinity)) this.permanent.push(`${DIM}${l}${RESET}\n`);
        return true;
      }
      case 'blob': {
        this.blobs.update(e, now);
        const key = transferKey(e.action, e.ref);
        if (this.transfers.has(key)) return false;
        // Blobs of a transfer nobody announced still get a heading.
        this.transfers.set(key, { head: `${e.action === 'pull' ? 'pulling' : 'pushing'} ${e.ref}`, started: now });
        return true;
      }
      default:
        this.plain.event(e);
        return true;
    }
  }

  /** Passes an event to the plain renderer for its bookkeeping only, dropping what it prints. */
  private quietly(e: BuildEvent): void {
    const n = this.permanent.length;
    this.plain.event(e);
    this.permanent.length = n;
  }

  /** The lines to print once above the live area since the last call (each ends with a newline). */
  take(): string[] {
    return this.permanent.splice(0);
  }

  /** The live area at `now`, each line at most `width` visible characters, at most `maxLines` lines. */
  live(now: number, width: number, maxLines = Infinity): string[] {
    const lines: string[] = [];
    const head = (text: string, started: number): string => {
      const secs = ` ${formatSecs(now - started)}`;
      return `${CYAN}=> ${text.slice(0, Math.max(0, width - 3 - secs.length))}${RESET}${secs}`;
    };
    for (const r of this.running.values()) {
      lines.push(head(r.head, r.started));
      for (const l of r.tail) lines.push(`${DIM}   ${l.slice(0, Math.max(0, width - 3))}${RESET}`);
    }
    for (const [key, t] of this.transfers) {
      lines.push(head(t.head, t.started));
      lines.push(...this.blobs.lines(key, now, width));
    }
    if (lines.length <= maxLines) return lines;
    // Taller than the screen: cursor-up cannot reach lines scrolled away, so the area is cut.
    const keep = Math.max(0, maxLines - 1);
    return [...lines.slice(0, keep), `${DIM}   ... ${lines.length - keep} more lines${RESET}`];
  }

  /** Ends the view: nothing is live any more; the summary goes to the permanent lines. */
  finish(summary: ProgressSummary): void {
    this.running.clear();
    this.transfers.clear();
    this.plain.finish(summary);
  }
}
