/**
 * Blob transfers (pulls and pushes) as the progress renderers show them: the
 * registry's events turned into BlobEvents, the terminal's bars, the plain
 * log's sparse lines and the JSON stream's throttle. Pure: each takes the
 * time it is given, so tests drive them with a fake clock.
 */
import type { BlobEvent } from '../build/events.js';
import type { PullEvent } from '../../registry/remote/pull.js';
import type { PushEvent } from '../../registry/remote/push.js';
import { formatBytes, formatSecs, shortDigest } from './progress-format.js';

/** Turns a pull's or push's registry events into BlobEvents for `sink` (a blob's first bytes are its `start`). */
export function blobEvents(action: 'pull' | 'push', ref: string, sink: (e: BlobEvent) => void): (e: PullEvent | PushEvent) => void {
  const started = new Set<string>();
  const send = (digest: string, status: BlobEvent['status'], current: number, total: number, from?: string): void =>
    sink({ type: 'blob', action, ref, digest, status, current, total, ...(from !== undefined && { from }) });
  return (e) => {
    switch (e.type) {
      case 'blob-progress':
        if (started.has(e.digest)) send(e.digest, 'progress', e.done, e.total);
        else {
          started.add(e.digest);
          send(e.digest, 'start', e.done, e.total);
        }
        break;
      case 'blob-done':
        // A blob whose bytes were never counted (an empty one) still starts before it ends.
        if (!started.has(e.digest)) {
          started.add(e.digest);
          send(e.digest, 'start', 0, e.size);
        }
        send(e.digest, 'done', e.size, e.size);
        break;
      case 'blob-exists':
        send(e.digest, 'exists', 0, e.size);
        break;
      case 'blob-mounted':
        send(e.digest, 'mounted', 0, e.size, e.from);
        break;
    }
  };
}

/** True for the statuses after which a blob moves no more. */
export function isFinal(status: BlobEvent['status']): boolean {
  return status === 'done' || status === 'exists' || status === 'mounted' || status === 'compressed';
}

/** The key of a transfer: blobs belong to the pull or push of one image. */
export function transferKey(action: 'pull' | 'push', ref: string): string {
  return `${action} ${ref}`;
}

/** Bytes per second moved since a blob's first event; undefined until there is enough to measure. */
function rate(moved: number, ms: number): number | undefined {
  return ms >= 200 && moved > 0 ? (moved * 1000) / ms : undefined;
}

/** `[=====>    ]` of `width` characters for a fraction in [0, 1]. */
export function bar(fraction: number, width: number): string {
  const inner = Math.max(1, width - 2);
  const filled = Math.floor(Math.min(1, Math.max(0, fraction)) * inner);
  if (filled >= inner) return `[${'='.repeat(inner)}]`;
  return `[${'='.repeat(filled)}>${' '.repeat(inner - filled - 1)}]`;
}

interface Tracked {
  last: BlobEvent;
  started: number;
  /** Bytes already counted at the first event (the rate is measured from there). */
  first: number;
  ended?: number;
}

/** The blobs of the transfers under way, for the terminal's live view. */
export class BlobBoard {
  private readonly blobs = new Map<string, Map<string, Tracked>>();

  /** Records an event that happened at `now`. */
  update(e: BlobEvent, now: number): void {
    const k = transferKey(e.action, e.ref);
    let group = this.blobs.get(k);
    if (!group) this.blobs.set(k, (group = new Map()));
    const t = group.get(e.digest);
    if (!t) group.set(e.digest, { last: e, started: now, first: e.status === 'done' ? 0 : e.current, ...(isFinal(e.status) && { ended: now }) });
    else {
      t.last = e;
      if (isFinal(e.status)) t.ended ??= now;
    }
  }

  /** The transfers that have blobs, by transferKey. */
  transfers(): string[] {
    return [...this.blobs.keys()];
  }

  /** Lines of transfer `key` at `now`: a bar per moving blob, one line per finished one; each at most `width` wide. */
  lines(key: string, now: number, width: number): string[] {
    return [...(this.blobs.get(key)?.values() ?? [])].map((t) => (t.ended === undefined ? moving(t, now, width) : finished(t)).slice(0, width));
  }

  /** Forgets transfer `key`; returns its blobs' one-line final forms. */
  close(key: string, now: number, width: number): string[] {
    const lines = this.lines(key, now, width);
    this.blobs.delete(key);
    return lines;
  }
}

/** `  3f57d9401f8d [====>     ]  1.2 MiB / 4.0 MiB  2.0 MiB/s`, the bar shrunk to fit `width`. */
function moving(t: Tracked, now: number, width: number): string {
  const { current, total, digest } = t.last;
  const head = `  ${shortDigest(digest)} `;
  // No byte counts while compressing: the time it has taken so far shows it moves.
  if (t.last.status === 'compressing') return `${head}compressing ${formatBytes(total)} ${formatSecs(now - t.started)}`;
  const amount = `${formatBytes(current)} / ${formatBytes(total)}`;
  const r = rate(current - t.first, now - t.started);
  const speed = r === undefined ? '' : `  ${formatBytes(Math.round(r))}/s`;
  const room = Math.min(32, width - head.length - amount.length - speed.length - 1);
  return `${head}${room >= 6 && total > 0 ? `${bar(current / total, room)} ` : ''}${amount}${speed}`;
}

/** `  3f57d9401f8d done 4.0 MiB 0.8s`, `exists`, `mounted from library/x`. */
function finished(t: Tracked): string {
  return `  ${shortDigest(t.last.digest)} ${finalWords(t.last, (t.ended ?? t.started) - t.started)}`;
}

function finalWords(e: BlobEvent, seen: number): string {
  // A compression is announced late: its own measure of the time is the true one.
  const ms = e.ms ?? seen;
  if (e.status === 'exists') return 'exists';
  if (e.status === 'mounted') return `mounted${e.from ? ` from ${e.from}` : ''}`;
  if (e.status === 'compressed') return `compressed ${formatBytes(e.total)} to ${e.to ? `${shortDigest(e.to.digest)} ${formatBytes(e.to.size)}` : '?'} ${formatSecs(ms)}`;
  return `done ${formatBytes(e.total)} ${formatSecs(ms)}`;
}

/** When the plain log says how far a long blob got. */
export interface PlainBlobPace {
  /** Never two lines of one blob closer than this (default 2 s). */
  minGapMs: number;
  /** A line at each quarter, or after this long without one (default 10 s). */
  maxGapMs: number;
}

/**
 * Blob lines for logs that are not redrawn (CI): one when a blob starts, one when it ends
 * (size and time), and for long ones a line at each quarter (or every maxGapMs), never
 * closer than minGapMs, so a log shows movement without flooding.
 */
export class PlainBlobLog {
  private readonly blobs = new Map<string, { started: number; first: number; said: number; quarter: number }>();

  constructor(private readonly pace: PlainBlobPace = { minGapMs: 2000, maxGapMs: 10_000 }) {}

  /** The lines to print for `e`, which happened at `now` (often none). */
  lines(e: BlobEvent, now: number): string[] {
    const k = `${transferKey(e.action, e.ref)} ${e.digest}`;
    const head = `${e.action} ${shortDigest(e.digest)}:`;
    const b = this.blobs.get(k);
    if (e.status === 'start' || e.status === 'compressing') {
      this.blobs.set(k, { started: now, first: e.current, said: now, quarter: quarter(e) });
      return [`${head} ${e.status} ${formatBytes(e.total)}`];
    }
    if (e.status === 'progress') {
      if (!b) return [];
      const q = quarter(e);
      const gap = now - b.said;
      if (gap < this.pace.minGapMs || (q <= b.quarter && gap < this.pace.maxGapMs)) return [];
      b.said = now;
      b.quarter = q;
      const r = rate(e.current - b.first, now - b.started);
      const pct = e.total > 0 ? `${Math.floor((e.current * 100) / e.total)}% ` : '';
      return [`${head} ${pct}${formatBytes(e.current)} / ${formatBytes(e.total)}${r === undefined ? '' : ` ${formatBytes(Math.round(r))}/s`}`];
    }
    this.blobs.delete(k);
    return [`${head} ${finalWords(e, b ? now - b.started : 0)}`];
  }
}

/** Which quarter of the blob has moved: 0 to 4. */
function quarter(e: BlobEvent): number {
  return e.total > 0 ? Math.floor((e.current * 4) / e.total) : 0;
}

/** Thins blob progress for the JSON stream: every start and end, and a blob's progress at most every `gapMs`. */
export class JsonBlobThrottle {
  private readonly last = new Map<string, number>();

  constructor(private readonly gapMs = 250) {}

  /** Whether to write `e`, which happened at `now`. */
  pass(e: BlobEvent, now: number): boolean {
    const k = `${transferKey(e.action, e.ref)} ${e.digest}`;
    if (isFinal(e.status)) {
      this.last.delete(k);
      return true;
    }
    const l = this.last.get(k);
    if (e.status === 'progress' && l !== undefined && now - l < this.gapMs) return false;
    this.last.set(k, now);
    return true;
  }
}
