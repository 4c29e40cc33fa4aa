/** Go's time.ParseDuration, for HEALTHCHECK intervals; results in nanoseconds. */

const units: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Parses `1m30s`, `1.5h`, `300ms`, `0`...; throws on anything Go rejects. */
export function parseGoDuration(s: string): number {
  const orig = s;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration "${orig}"`);
  let total = 0;
  const re = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (s !== '') {
    const m = re.exec(s);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) {
      if (/^[\d.]+$/.test(s)) throw new Error(`time: missing unit in duration "${orig}"`);
      throw new Error(`time: invalid duration "${orig}"`);
    }
    const unit = units[m[3]!]!;
    total += Number(m[1] || '0') * unit + (m[2] ? Number('0.' + m[2]) * unit : 0);
    s = s.slice(m[0].length);
  }
  return sign * Math.round(total);
}
