/** Small formatting helpers shared by the progress renderers. */

/** Human-readable sizes: 1.2 MiB (base 1024, progress) or 1.2 MB (base 1000, as `rbuild check` reports). */
export function formatBytes(n: number, base: 1000 | 1024 = 1024): string {
  if (n < base) return `${n} B`;
  const units = base === 1024 ? ['KiB', 'MiB', 'GiB', 'TiB'] : ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= base;
    i++;
  } while (v >= base && i < units.length - 1);
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Seconds with one decimal: `0.8s`. */
export function formatSecs(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}

/** Unnamed stages are shown as BuildKit shows them: `stage-N`. */
export function stageLabel(id: string): string {
  return /^\d+$/.test(id) ? `stage-${id}` : id;
}

/** The 12 hex digits docker shows for a digest. */
export function shortDigest(digest: string): string {
  const i = digest.indexOf(':');
  return digest.slice(i + 1, i + 13);
}
