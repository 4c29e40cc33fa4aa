/**
 * .dockerignore with Docker's semantics: moby/patternmatcher's pattern
 * compilation and MatchesOrParentMatches, ignorefile's line reading, and
 * BuildKit's (fsutil) rule for descending into excluded directories.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';

/** A .dockerignore pattern that cannot be compiled. */
export class DockerignoreError extends Error {
  readonly code = 'DOCKERIGNORE_PATTERN';
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

interface Pattern {
  exclusion: boolean;
  cleaned: string;
  type: MatchType;
  re?: RegExp;
}

/** Go's path.Clean for slash paths (patterns are cleaned the same way). */
function clean(p: string): string {
  if (p === '') return '.';
  const out = posix.normalize(p);
  return out.length > 1 && out.endsWith('/') ? out.slice(0, -1) : out;
}

// Characters special in regexps but ordinary in file patterns.
const escapeSet = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/**
 * Rejects what Go's filepath.Match rejects (Docker validates every pattern with
 * it): unclosed or empty classes, a bare `-` or `]` as a class bound, a
 * trailing backslash.
 */
function checkGoPattern(p: string): void {
  const bad = (): never => {
    throw new DockerignoreError(`syntax error in pattern: ${p}`);
  };
  const cs = Array.from(p);
  let i = 0;
  // A class bound: one character, maybe escaped; `-` and `]` are not allowed bare.
  const bound = (): void => {
    if (i >= cs.length || cs[i] === '-' || cs[i] === ']') bad();
    if (cs[i] === '\\') {
      i++;
      if (i >= cs.length) bad();
    }
    i++;
    if (i >= cs.length) bad();
  };
  while (i < cs.length) {
    const ch = cs[i]!;
    if (ch === '\\') {
      i += 2;
      if (i > cs.length) bad();
    } else if (ch === '[') {
      i++;
      if (cs[i] === '^') i++;
      for (let n = 0; ; n++) {
        if (i >= cs.length) bad();
        if (cs[i] === ']' && n > 0) {
          i++;
          break;
        }
        bound();
        if (cs[i] === '-') {
          i++;
          bound();
        }
      }
    } else i++;
  }
}

function compile(cleaned: string): Pick<Pattern, 'type' | 're'> {
  checkGoPattern(cleaned);
  let reStr = '^';
  let type: MatchType = 'exact';
  const cs = Array.from(cleaned);
  for (let i = 0, k = 0; k < cs.length; i++) {
    const ch = cs[k++]!;
    if (ch === '*') {
      if (cs[k] === '*') {
        k++;
        if (cs[k] === '/') k++; // **/ is the same as **
        if (k >= cs.length) {
          // trailing **: everything below
          if (type === 'exact') type = 'prefix';
          else {
            reStr += '.*';
            type = 'regexp';
          }
        } else {
          reStr += '(.*/)?';
          type = 'regexp';
        }
        if (i === 0) type = 'suffix';
      } else {
        reStr += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      reStr += '[^/]';
      type = 'regexp';
    } else if (escapeSet.has(ch)) {
      reStr += '\\' + ch;
    } else if (ch === '\\') {
      if (k < cs.length) {
        const n = cs[k++]!;
        reStr += /[\^$\\.*+?()[\]{}|/]/.test(n) ? '\\' + n : n;
        type = 'regexp';
      } else reStr += '\\\\';
    } else if (ch === '[' || ch === ']') {
      reStr += ch;
      type = 'regexp';
    } else {
      reStr += ch;
    }
  }
  if (type !== 'regexp') return { type };
  try {
    return { type, re: new RegExp(reStr + '$', 'u') };
  } catch (err) {
    throw new DockerignoreError(`syntax error in pattern: ${cleaned}`, { cause: err });
  }
}

function matchOne(p: Pattern, path: string): boolean {
  switch (p.type) {
    case 'exact':
      return path === p.cleaned;
    case 'prefix':
      return path.startsWith(p.cleaned.slice(0, -2));
    case 'suffix': {
      const suffix = p.cleaned.slice(2);
      if (path.endsWith(suffix)) return true;
      return suffix.startsWith('/') && path === suffix.slice(1); // **/foo matches foo
    }
    default:
      return p.re!.test(path);
  }
}

/** Decides which context paths are excluded. */
export interface IgnoreMatcher {
  /** The patterns, as read (after cleaning). */
  readonly patterns: readonly string[];
  /** True if any pattern starts with `!`. */
  readonly hasExclusions: boolean;
  /** True when the path (slash-separated, relative to the context, no leading /) is excluded, itself or via a parent. */
  matches(relPath: string): boolean;
  /**
   * For an excluded directory: whether a walker must still descend because an
   * `!` pattern may re-include something below it (BuildKit fsutil's rule:
   * an exception with wildcards, or one starting with `dir/`). False means
   * skip the whole directory.
   */
  mayContainIncluded(relDir: string): boolean;
}

// fsutil's containsWildcards: * ? [ outside a backslash escape.
function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/** Builds a matcher from .dockerignore patterns (as returned by parseDockerignore). */
export function createIgnoreMatcher(patterns: readonly string[]): IgnoreMatcher {
  const compiled: Pattern[] = [];
  for (let p of patterns) {
    p = p.trim();
    if (p === '') continue;
    p = clean(p);
    let exclusion = false;
    if (p[0] === '!') {
      if (p.length === 1) throw new DockerignoreError('illegal exclusion pattern: "!"');
      exclusion = true;
      p = p.slice(1);
    }
    compiled.push({ exclusion, cleaned: p, ...compile(p) });
  }
  const hasExclusions = compiled.some((p) => p.exclusion);
  const wildcardExceptions = compiled.some((p) => p.exclusion && containsWildcards(p.cleaned));
  return {
    patterns: compiled.map((p) => (p.exclusion ? '!' : '') + p.cleaned),
    hasExclusions,
    matches(relPath: string): boolean {
      const file = clean(relPath);
      if (file === '.') return false; // the context root is never excluded
      const parent = posix.dirname(file);
      const parentDirs = parent === '.' ? [] : parent.split('/');
      let matched = false;
      for (const p of compiled) {
        // An inclusion cannot change a match; an exclusion only undoes one.
        if (p.exclusion !== matched) continue;
        let m = matchOne(p, file);
        for (let i = 0; !m && i < parentDirs.length; i++) m = matchOne(p, parentDirs.slice(0, i + 1).join('/'));
        if (m) matched = !p.exclusion;
      }
      return matched;
    },
    mayContainIncluded(relDir: string): boolean {
      if (!hasExclusions) return false;
      // An exception with wildcards may match anywhere: walk everything.
      if (wildcardExceptions) return true;
      const dirSlash = clean(relDir.replace(/^\/+/, '')) + '/';
      return compiled.some((p) => p.exclusion && (p.cleaned + '/').startsWith(dirSlash));
    },
  };
}

/** Reads .dockerignore text into patterns the way Docker's ignorefile.ReadAll does. */
export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  text.replace(/^\uFEFF/, '').split('\n').forEach((raw) => {
    if (raw.startsWith('#')) return; // comments only at the very start of a line
    let p = raw.trim();
    if (p === '') return;
    const invert = p[0] === '!';
    if (invert) p = p.slice(1).trim();
    if (p.length > 0) {
      p = clean(p);
      if (p.length > 1 && p[0] === '/') p = p.slice(1); // leading / means the context root
    }
    out.push(invert ? '!' + p : p);
  });
  return out;
}

/** Where the ignore patterns came from, and the matcher. */
export interface LoadedDockerignore {
  /** The file read, or undefined when there is none (nothing is excluded). */
  path: string | undefined;
  patterns: string[];
  matcher: IgnoreMatcher;
}

/**
 * Loads the ignore file for a build: `<Dockerfile>.dockerignore` beside the
 * Dockerfile takes precedence over `<context>/.dockerignore`.
 */
export async function loadDockerignore(contextDir: string, dockerfilePath?: string, signal?: AbortSignal): Promise<LoadedDockerignore> {
  const candidates: string[] = [];
  if (dockerfilePath) candidates.push(join(dirname(dockerfilePath), basename(dockerfilePath) + '.dockerignore'));
  candidates.push(join(contextDir, '.dockerignore'));
  for (const path of candidates) {
    let text: string;
    try {
      // Synchronous: a small file, usually absent; an awaited read is a threadpool round trip per candidate.
      signal?.throwIfAborted();
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw err;
    }
    const patterns = parseDockerignore(text);
    return { path, patterns, matcher: createIgnoreMatcher(patterns) };
  }
  return { path: undefined, patterns: [], matcher: createIgnoreMatcher([]) };
}
