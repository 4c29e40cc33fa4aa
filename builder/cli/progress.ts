/**
 * Renders build events: `plain` (step numbers and logs, for CI logs),
 * `json` (one event per line, for tools), `tty` (plain with a live status
 * line of running steps, redrawn in place) and `quiet`.
 */
import type { BuildEvent } from '../build/events.js';
import { stderrOut } from './stderr-out.js';

/** A progress mode as `--progress` names it. */
export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json' | 'quiet';

/** Something that consumes events and can summarise at the end. */
export interface ProgressRenderer {
  event(e: BuildEvent): void;
  /** Prints the final summary lines (digest, tags, per-step times). */
  finish(summary: { digest?: string; tags: string[]; size?: number; error?: string }): void;
}

/**
 * Chooses and creates a renderer; `auto` is tty on a terminal, plain otherwise (CI logs).
 * In plain mode under GitLab CI (`GITLAB_CI=true`) each step is a collapsible log section.
 */
export function createProgress(mode: ProgressMode, out: NodeJS.WriteStream = stderrOut(), env: NodeJS.ProcessEnv = process.env): ProgressRenderer {
  const resolved = mode === 'auto' ? (out.isTTY ? 'tty' : 'plain') : mode;
  if (resolved === 'json') return new JsonProgress(out);
  if (resolved === 'quiet') return { event() {}, finish() {} };
  if (resolved === 'tty') return new TtyProgress(out);
  return new PlainProgress(out, false, env.GITLAB_CI === 'true');
}

/**
 * GitLab's log section markers: the erase-line escapes hide the marker text,
 * and what follows `\r` on the start line is shown as the section header.
 */
export function gitlabSection(kind: 'start' | 'end', name: string, header = '', now: number = Date.now()): string {
  const ts = Math.floor(now / 1000);
  return kind === 'start' ? `\x1b[0Ksection_start:${ts}:${name}\r\x1b[0K${header}` : `\x1b[0Ksection_end:${ts}:${name}\r\x1b[0K`;
}

/**
 * The terminal view: finished steps scroll up as plain lines; below them a
 * live area, redrawn in place, shows each running step with its elapsed time
 * and its last output lines.
 */
class TtyProgress implements ProgressRenderer {
  private readonly plain: PlainProgress;
  private readonly running = new Map<string, { head: string; started: number; tail: string[] }>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly buffered: string[] = [];

  constructor(private readonly out: NodeJS.WriteStream) {
    // Permanent lines go through the plain renderer into a buffer we flush above the live area.
    this.plain = new PlainProgress({ write: (s: string) => (this.buffered.push(s), true) } as unknown as NodeJS.WritableStream, true);
  }

  event(e: BuildEvent): void {
    if (e.type === 'step-start') {
      this.running.set(e.step, { head: `[${stageLabel(e.stage)} ${e.index}/${e.total}] ${e.text}`, started: Date.now(), tail: [] });
      this.plain.event(e);
      this.buffered.length = 0; // the live area shows it while it runs
      this.timer ??= setInterval(() => this.draw(), 100).unref();
    } else if (e.type === 'step-log') {
      const r = this.running.get(e.step);
      if (r) {
        for (const l of e.data.split('\n')) if (l.trim() !== '') r.tail.push(l.slice(0, (this.out.columns ?? 100) - 4));
        r.tail.splice(0, Math.max(0, r.tail.length - 3));
      }
    } else if (e.type === 'step-done' || e.type === 'step-error') {
      const r = this.running.get(e.step);
      this.running.delete(e.step);
      if (r) this.buffered.push(`${r.head}\n`);
      if (e.type === 'step-done') this.buffered.push(`  \x1b[32mDONE\x1b[0m ${(e.ms / 1000).toFixed(1)}s\n`);
      else this.buffered.push(`  \x1b[31mERROR\x1b[0m ${e.message}\n`);
      this.plain.event({ ...e, type: 'step-done', ms: e.type === 'step-done' ? e.ms : 0 } as BuildEvent);
      this.buffered.splice(this.buffered.length - 1, 1); // drop the plain DONE line: ours is above
    } else {
      this.plain.event(e);
    }
    this.draw();
  }

  private draw(): void {
    const cols = this.out.columns ?? 100;
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A\x1b[J` : '';
    text += this.buffered.join('');
    this.buffered.length = 0;
    const live: string[] = [];
    for (const r of this.running.values()) {
      const secs = ((Date.now() - r.started) / 1000).toFixed(1);
      live.push(`\x1b[36m=> ${r.head}`.slice(0, cols + 5) + `\x1b[0m ${secs}s`);
      for (const l of r.tail) live.push(`\x1b[2m   ${l}\x1b[0m`);
    }
    text += live.map((l) => `${l}\n`).join('');
    this.drawn = live.length;
    this.out.write(text);
  }

  finish(summary: { digest?: string; tags: string[]; size?: number; error?: string }): void {
    if (this.timer) clearInterval(this.timer);
    this.running.clear();
    this.draw();
    this.plain.finish(summary);
    this.out.write(this.buffered.join(''));
    this.buffered.length = 0;
  }
}

class JsonProgress implements ProgressRenderer {
  constructor(private readonly out: NodeJS.WritableStream) {}
  event(e: BuildEvent): void {
    this.out.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
  }
  finish(summary: { digest?: string; tags: string[]; size?: number; error?: string }): void {
    this.out.write(`${JSON.stringify({ time: new Date().toISOString(), type: 'result', ...summary })}\n`);
  }
}

class PlainProgress implements ProgressRenderer {
  private readonly numbers = new Map<string, number>();
  private readonly times: Array<{ n: number; text: string; ms?: number; cached: boolean }> = [];
  private next = 1;
  private partial = new Map<string, string>();
  constructor(private readonly out: NodeJS.WritableStream, private readonly color: boolean, private readonly gitlab = false) {}

  /** A section name GitLab accepts ([a-z0-9_.-]), unique per step. */
  private section(n: number): string {
    return `rbuild_step_${n}`;
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
        const rest = this.partial.get(e.step);
        if (rest) this.out.write(this.dim(`#${n} ${rest}`) + '\n');
        this.partial.delete(e.step);
        const t = this.times.find((x) => x.n === n);
        if (t) t.ms = e.ms;
        this.out.write(`#${n} DONE ${(e.ms / 1000).toFixed(1)}s\n`);
        if (this.gitlab) this.out.write(`${gitlabSection('end', this.section(n))}\n`);
        break;
      }
      case 'step-error': {
        const n = this.num(e.step);
        const rest = this.partial.get(e.step);
        if (rest) this.out.write(this.dim(`#${n} ${rest}`) + '\n');
        this.partial.delete(e.step);
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
    }
  }

  finish(summary: { digest?: string; tags: string[]; size?: number; error?: string }): void {
    if (summary.error) return;
    if (this.times.length) {
      this.out.write('steps:\n');
      for (const t of this.times) this.out.write(`  #${t.n} ${t.cached ? 'CACHED' : `${((t.ms ?? 0) / 1000).toFixed(1)}s`.padStart(6)}  ${t.text.slice(0, 80)}\n`);
    }
    if (summary.digest) this.out.write(`image ${summary.digest}${summary.size !== undefined ? ` ${formatBytes(summary.size)}` : ''}\n`);
  }
}

/** Unnamed stages are shown as BuildKit shows them: `stage-N`. */
function stageLabel(id: string): string {
  return /^\d+$/.test(id) ? `stage-${id}` : id;
}

/** 1.2 MiB style sizes. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(1)} ${units[i]}`;
}
