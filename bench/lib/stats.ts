/** Summaries of timed runs: median, min, max, and ratios between tools. */

/** The summary of one tool's runs for one figure. */
export interface Summary {
  median: number;
  min: number;
  max: number;
}

/** Median, min and max of a non-empty list. */
export function summarize(values: number[]): Summary {
  if (values.length === 0) throw new RangeError('summarize: no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

/** rbuild's median over the peer's, or null when either is missing or the peer took no time. */
export function ratio(rbuild: number | null | undefined, peer: number | null | undefined): number | null {
  if (rbuild == null || peer == null || !(peer > 0)) return null;
  return rbuild / peer;
}
