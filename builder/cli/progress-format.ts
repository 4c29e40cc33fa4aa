/** Small formatting helpers shared by the progress renderers. */

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
