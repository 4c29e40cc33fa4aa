/** Parsing of WWW-Authenticate challenges (RFC 7235) and registry scopes. Pure logic. */

/** One auth challenge: the scheme and its parameters (lower-case keys). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header value into its challenges. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  const out: Challenge[] = [];
  for (const value of values) {
    let i = 0;
    let current: Challenge | undefined;
    const s = value;
    while (i < s.length) {
      while (i < s.length && (s[i] === ' ' || s[i] === ',')) i++;
      const tokStart = i;
      while (i < s.length && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(s[i]!)) i++;
      const tok = s.slice(tokStart, i);
      if (!tok) {
        i++;
        continue;
      }
      let j = i;
      while (j < s.length && s[j] === ' ') j++;
      if (s[j] === '=') {
        // key=value or key="quoted value" of the current challenge.
        j++;
        while (j < s.length && s[j] === ' ') j++;
        let val = '';
        if (s[j] === '"') {
          j++;
          while (j < s.length && s[j] !== '"') {
            if (s[j] === '\\' && j + 1 < s.length) j++;
            val += s[j++];
          }
          j++;
        } else {
          const vs = j;
          while (j < s.length && s[j] !== ',' && s[j] !== ' ') j++;
          val = s.slice(vs, j);
        }
        if (current) current.params[tok.toLowerCase()] = val;
        i = j;
      } else {
        current = { scheme: tok.toLowerCase(), params: {} };
        out.push(current);
      }
    }
  }
  return out;
}

/** The scope string for repository access: `repository:a/b:pull,push`. */
export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/** A stable cache key for a set of scopes. */
export function scopeKey(scopes: readonly string[]): string {
  return [...new Set(scopes)].sort().join(' ');
}
