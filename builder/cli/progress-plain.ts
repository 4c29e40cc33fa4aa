/**
 * The plain renderer: step logs with step numbers (for CI logs, no redraw), one
 * line per event otherwise; under GitLab CI each step is a collapsible section.
 */
import type { BuildEvent } from '../build/events.js';
import type { ProgressRenderer, ProgressSummary } from './progress.js';
import { PlainBlobLog } from './progress-blobs.js';
import { formatBytes, stageLabel } from './progress-format.js';

/**
 * GitLab's log section markers: the erase-line escapes hide the marker text,
 * and what follows `\r` on the start line is shown as the section header.
 */
export function gitlabSection(kind: 'start' | 'end', name: string, header = '', now: number = Date.now()): string {
  const ts = Math.floor(now / 1000);
  return kind === 'start' ? `\x1b[0Ksection_start:${ts}:${name}\r\x1b[0K${header}` : `\x1b[0Ksection_end:${ts}:${name}\r\x1b[0K`;
}

/** Step logs with step numbers, for CI logs; blob transfers as a few lines each. */
export class PlainProgress implements ProgressRenderer {
  private readonly blobs = new PlainBlobLog();
  private readonly numbers = new Map<string, number>();
  private readonly times: Array<{ n: number; text: string; ms?: number; cached: boolean }> = [];
  private next = 1;
  private partial = new Map<string, string>();
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly color: boolean,
    private readonly gitlab = false,
    private readonly now: () => number = Date.now,
  ) {}

  /** A section name GitLab accepts ([a-z0-9_.-]), unique per step. */
  private section(n: number): string {
    return `rbuild_step_${n}`;
  }

  /** Writes a step's unfinished last output line, if any. */
  private flushPartial(step: string, n: number): void {
    const rest = this.partial.get(step);
    if (rest) this.out.write(this.dim(`#${n} ${rest}`) + '\n');
    this.partial.delete(step);
  }

  private num(step: string): number {
    let n = this.numbers.get(step);
    if (n === undefined) {
      n = this.next++;
      this.numbers.set(step, n);
    }
    return n;
  }

  private dim(s: string): string {
    return this.color ? `\x1b[2m${s}\x1b[0m` : s;
  }

  event(e: BuildEvent): void {
    switch (e.type) {
      case 'build-start':
        for (const w of e.warnings) this.out.write(`WARNING: ${w}\n`);
        break;
      case 'step-start':
      case 'step-cached': {
        const n = this.num(e.step);
        const head = `#${n} [${stageLabel(e.stage)} ${e.index}/${e.total}] ${e.text}`;
        // A cached step is one line: no section to fold.
        if (this.gitlab && e.type === 'step-start') this.out.write(`${gitlabSection('start', this.section(n), head)}\n`);
        else this.out.write(`${head}${e.type === 'step-cached' ? ' CACHED' : ''}\n`);
        this.times.push({ n, text: `[${stageLabel(e.stage)} ${e.index}/${e.total}] ${e.text}`, cached: e.type === 'step-cached' });
        break;
      }
      case 'step-log': {
        const n = this.num(e.step);
        const buf = (this.partial.get(e.step) ?? '') + e.data;
        const lines = buf.split('\n');
        this.partial.set(e.step, lines.pop() ?? '');
        for (const l of lines) this.out.write(this.dim(`#${n} ${l}`) + '\n');
        break;
      }
      case 'step-done': {
        const n = this.num(e.step);
        this.flushPartial(e.step, n);
        const t = this.times.find((x) => x.n === n);
        if (t) t.ms = e.ms;
        this.out.write(`#${n} DONE ${(e.ms / 1000).toFixed(1)}s\n`);
        if (this.gitlab) this.out.write(`${gitlabSection('end', this.section(n))}\n`);
        break;
      }
      case 'step-error': {
        const n = this.num(e.step);
        this.flushPartial(e.step, n);
        this.out.write(`#${n} ERROR: ${e.message}\n`);
        if (this.gitlab) this.out.write(`${gitlabSection('end', this.section(n))}\n`);
        break;
      }
      case 'pull':
        this.out.write(e.phase === 'start' ? `pulling ${e.ref}\n` : `pulled ${e.ref} (${e.layers} layers, ${formatBytes(e.bytes ?? 0)})\n`);
        break;
      case 'warning':
        this.out.write(`WARNING: ${e.message}\n`);
        break;
      case 'info':
        this.out.write(`${e.message}\n`);
        break;
      case 'export':
        this.out.write(`writing image ${e.digest} (${formatBytes(e.size)})${e.tags.length ? `, naming ${e.tags.join(', ')}` : ''}\n`);
        break;
      case 'push':
        this.out.write(e.phase === 'start' ? `pushing ${e.ref}\n` : `pushed ${e.ref}@${e.digest}\n`);
        break;
      case 'blob':
        for (const l of this.blobs.lines(e, this.now())) this.out.write(`${l}\n`);
        break;
    }
  }

  finish(summary: ProgressSummary): void {
    if (summary.error) return;
    if (this.times.length) {
      this.out.write('steps:\n');
      for (const t of this.times) this.out.write(`  #${t.n} ${t.cached ? 'CACHED' : `${((t.ms ?? 0) / 1000).toFixed(1)}s`.padStart(6)}  ${t.text.slice(0, 80)}\n`);
    }
    if (summary.digest) this.out.write(`image ${summary.digest}${summary.size !== undefined ? ` ${formatBytes(summary.size)}` : ''}\n`);
  }
}
