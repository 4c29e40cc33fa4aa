/**
 * Go's filepath.Match for `/`-separated paths (what Docker uses for COPY
 * sources): `*` and `?` never cross `/`, `[...]` classes with `^`/`!`
 * negation and ranges, `\` escapes.
 */

/** Whether a string contains glob metacharacters. */
export function hasGlob(p: string): boolean {
  return /[*?[\\]/.test(p);
}

/** Matches `name` against Go filepath.Match `pattern`; throws GlobError on a malformed pattern. */
export function globMatch(pattern: string, name: string): boolean {
  return matchAt(pattern, 0, name, 0);
}

/** A malformed glob pattern. */
export class GlobError extends Error {
  readonly code = 'BAD_PATTERN';
  constructor(pattern: string) {
    super(`syntax error in pattern ${JSON.stringify(pattern)}`);
  }
}

function matchAt(p: string, pi: number, s: string, si: number): boolean {
  while (pi < p.length) {
    const c = p[pi]!;
    if (c === '*') {
      while (p[pi] === '*') pi++;
      if (pi === p.length) return !s.slice(si).includes('/');
      for (let k = si; k <= s.length; k++) {
        if (k > si && s[k - 1] === '/') break;
        if (matchAt(p, pi, s, k)) return true;
      }
      return false;
    }
    if (si >= s.length) return false;
    if (c === '?') {
      if (s[si] === '/') return false;
      pi++;
      si++;
      continue;
    }
    if (c === '[') {
      const r = matchClass(p, pi, s[si]!);
      if (!r.ok) return false;
      pi = r.next;
      si++;
      continue;
    }
    if (c === '\\') {
      pi++;
      if (pi >= p.length) throw new GlobError(p);
    }
    if (p[pi] !== s[si]) return false;
    pi++;
    si++;
  }
  return si === s.length;
}

function matchClass(p: string, start: number, ch: string): { ok: boolean; next: number } {
  let i = start + 1;
  let negate = false;
  if (p[i] === '^' || p[i] === '!') {
    negate = true;
    i++;
  }
  let matched = false;
  let first = true;
  while (i < p.length && (p[i] !== ']' || first)) {
    first = false;
    let lo = p[i]!;
    if (lo === '\\') lo = p[++i] ?? '';
    i++;
    let hi = lo;
    if (p[i] === '-' && p[i + 1] !== ']' && i + 1 < p.length) {
      hi = p[i + 1]!;
      if (hi === '\\') hi = p[i + 2] ?? '';
      i += hi === p[i + 1] ? 2 : 3;
    }
    if (lo === '' || hi === '') throw new GlobError(p);
    if (lo <= ch && ch <= hi) matched = true;
  }
  if (p[i] !== ']') throw new GlobError(p);
  return { ok: matched !== negate && ch !== '/', next: i + 1 };
}
