/**
 * Order of transfers in the bounded pool. p-limit runs tasks in the order they
 * were queued, so the order decides the finishing time: a big blob queued last
 * runs alone at the end while the other slots sit idle (longest-first is the
 * classic fix for this scheduling problem).
 */

/** Blobs largest first (stable for equal sizes), so the longest transfers start at once. */
export function bySizeDescending<T extends { size: number }>(blobs: readonly T[]): T[] {
  return blobs.map((b, i) => ({ b, i })).sort((x, y) => y.b.size - x.b.size || x.i - y.i).map((x) => x.b);
}
