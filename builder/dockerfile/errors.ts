/** Dockerfile errors that point at a file, line and column, and their formatting. */

/** Stable error codes of the Dockerfile frontend. */
export type DockerfileErrorCode =
  | 'DOCKERFILE_SYNTAX' // the parser rejected the text
  | 'DOCKERFILE_EMPTY' // zero bytes (or only white space)
  | 'DOCKERFILE_NO_INSTRUCTIONS' // only comments / directives
  | 'DOCKERFILE_NOT_FOUND' // -f names nothing
  | 'DOCKERFILE_IS_DIRECTORY' // -f names a directory
  | 'DOCKERFILE_UNKNOWN_INSTRUCTION'
  | 'DOCKERFILE_FLAG' // unknown, misplaced or malformed --flag
  | 'DOCKERFILE_ARGUMENTS' // wrong number or shape of arguments
  | 'DOCKERFILE_STAGE' // stage graph problems (unknown target, cycles, names)
  | 'DOCKERFILE_EXPANSION'; // variable expansion failed

/** Where an error sits in a Dockerfile; line and column are 1-based. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
  endLine?: number;
}

/** An error in a Dockerfile, located once where it is raised. */
export class DockerfileError extends Error {
  readonly code: DockerfileErrorCode;
  readonly file: string;
  /** 1-based; 0 when the error concerns the file as a whole. */
  readonly line: number;
  /** 1-based; 0 when unknown. */
  readonly column: number;
  readonly endLine: number;
  /** A suggestion for the user, e.g. `did you mean RUN?`. */
  readonly hint: string | undefined;

  constructor(
    code: DockerfileErrorCode,
    message: string,
    loc: Partial<SourceLocation> & { file: string },
    opts: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DockerfileError';
    this.code = code;
    this.file = loc.file;
    this.line = loc.line ?? 0;
    this.column = loc.column ?? 0;
    this.endLine = loc.endLine ?? this.line;
    this.hint = opts.hint;
  }
}

/**
 * Renders an error as `FILE:LINE:COL: message`, then the offending line with a
 * caret under the column, then the hint. `sourceText` is the Dockerfile text
 * (may be undefined when the file could not be read).
 */
export function formatDockerfileError(err: DockerfileError, sourceText?: string): string {
  const where = err.line > 0 ? `${err.file}:${err.line}:${Math.max(err.column, 1)}` : err.file;
  const out = [`${where}: ${err.message}`];
  if (sourceText !== undefined && err.line > 0) {
    const lines = sourceText.replace(/^\uFEFF/, '').split('\n');
    const text = (lines[err.line - 1] ?? '').replace(/\r$/, '');
    const gutter = String(err.line);
    out.push(` ${gutter} | ${text.replace(/\t/g, ' ')}`);
    const col = Math.max(err.column, 1);
    out.push(` ${' '.repeat(gutter.length)} | ${' '.repeat(col - 1)}^`);
  }
  if (err.hint) out.push(`hint: ${err.hint}`);
  return out.join('\n');
}

/** Levenshtein distance (case-insensitive), for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest candidate within a distance scaled to the word, or undefined. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  // Like BuildKit's suggest: allow about a third of the word to differ.
  const limit = Math.max(1, Math.floor(word.length / 3));
  return bestD <= limit ? best : undefined;
}
