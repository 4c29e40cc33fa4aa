/** `rbuild images`: the images in the local store, like `docker images`. */
import type { Command } from 'commander';
import { listImages, type ImageSummary } from '../../../registry/store/images.js';
import { familiarName } from '../../../registry/store/normalize-name.js';
import { action, storeFrom, withRoot } from './store-options.js';

/** Docker's human sizes: SI units, three significant digits (`4.26MB`). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : Number(v.toPrecision(3))}${units[i]}`;
}

/** "3 days ago"-style age of an RFC 3339 time, as Docker prints it. */
export function humanAge(created: string | undefined, now = Date.now()): string {
  if (!created) return 'N/A';
  const s = Math.max(0, (now - Date.parse(created)) / 1000);
  if (!Number.isFinite(s)) return 'N/A';
  const steps: Array<[number, string]> = [
    [60 * 60 * 24 * 365, 'year'],
    [60 * 60 * 24 * 30, 'month'],
    [60 * 60 * 24 * 7, 'week'],
    [60 * 60 * 24, 'day'],
    [60 * 60, 'hour'],
    [60, 'minute'],
  ];
  for (const [n, unit] of steps) {
    const k = Math.floor(s / n);
    if (k >= 1) return `${k} ${unit}${k > 1 ? 's' : ''} ago`;
  }
  return 'Less than a minute ago';
}

/** Splits a normalised name into Docker's REPOSITORY and TAG columns. */
export function repoAndTag(name: string | undefined): [string, string] {
  if (!name) return ['<none>', '<none>'];
  const short = familiarName(name.replace(/@.*$/, ''));
  const i = short.lastIndexOf(':');
  return i > short.lastIndexOf('/') ? [short.slice(0, i), short.slice(i + 1)] : [short, '<none>'];
}

/** The table `rbuild images` prints. */
export function formatImages(rows: ImageSummary[], opts: { noTrunc?: boolean; digests?: boolean }, now = Date.now()): string {
  const table = [['REPOSITORY', 'TAG', ...(opts.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE']];
  for (const r of rows) {
    const id = r.id ? (opts.noTrunc ? r.id : r.id.slice(7, 19)) : '<missing>';
    table.push([...repoAndTag(r.name), ...(opts.digests ? [r.digest] : []), id, humanAge(r.created, now), humanSize(r.size)]);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  return table.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('')).join('\n') + '\n';
}

/** Registers `rbuild images`. */
export function register(program: Command): void {
  withRoot(program.command('images').description('List images in the local store'))
    .option('-q, --quiet', 'only show image IDs')
    .option('--no-trunc', 'do not truncate output')
    .option('--digests', 'show digests')
    .option('--format <format>', '"table" (default) or "json"')
    .action(
      action(async (opts: { root?: string; quiet?: boolean; trunc?: boolean; digests?: boolean; format?: string }) => {
        const store = await storeFrom(opts);
        const rows = await listImages(store);
        if (opts.quiet) {
          const ids = [...new Set(rows.map((r) => (opts.trunc === false ? r.id : r.id?.slice(7, 19)) ?? r.digest))];
          process.stdout.write(ids.map((i) => `${i}\n`).join(''));
        } else if (opts.format === 'json') {
          process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        } else {
          process.stdout.write(formatImages(rows, { noTrunc: opts.trunc === false, digests: opts.digests === true }));
        }
      }),
    );
}
