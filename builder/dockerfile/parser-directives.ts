/** Parser directives (`# syntax=`, `# escape=`, `# check=`) at the top of a Dockerfile. */

/** A directive found at the top of the file. */
export interface Directive {
  /** Lowercased: syntax, escape or check. */
  name: string;
  value: string;
  /** 1-based line. */
  line: number;
}

/** Raised for a repeated directive or an invalid escape token. */
export class DirectiveError extends Error {
  readonly code = 'DOCKERFILE_SYNTAX';
}

const directiveRe = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/s;
const valid = new Set(['syntax', 'escape', 'check']);

/**
 * Reads directives line by line until the first line that is not one (any
 * instruction, blank line, or ordinary comment ends the directive block).
 */
export class DirectiveParser {
  private line = 0;
  private done = false;
  private readonly seen = new Set<string>();
  readonly directives: Directive[] = [];

  /** Feeds one physical line (newline removed); returns the directive if it was one. */
  parseLine(text: string): Directive | undefined {
    this.line++;
    if (this.done) return undefined;
    if (!text.startsWith('#')) {
      this.done = true;
      return undefined;
    }
    const m = directiveRe.exec(text.slice(1).replace(/^[\s\u0085]+/u, ''));
    if (!m) {
      this.done = true;
      return undefined;
    }
    const name = m[1]!.toLowerCase();
    if (!valid.has(name)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(name)) throw new DirectiveError(`only one ${name} parser directive can be used`);
    this.seen.add(name);
    const d = { name, value: m[2]!, line: this.line };
    this.directives.push(d);
    return d;
  }
}

/** The `# check=` directive: which lint rules to skip and whether findings fail the build. */
export interface CheckDirective {
  /** Rule names, or 'all'. */
  skip: string[] | 'all';
  error: boolean;
}

/** Parses `skip=Rule1,Rule2;error=true` as BuildKit's linter does. */
export function parseCheckDirective(value: string): CheckDirective {
  const out: CheckDirective = { skip: [], error: false };
  for (const part of value.split(';')) {
    const [k, v = ''] = part.split('=', 2).map((x) => x.trim()) as [string, string?];
    switch (k.toLowerCase()) {
      case 'skip':
        out.skip = v.toLowerCase() === 'all' ? 'all' : v.split(',').map((r) => r.trim()).filter(Boolean);
        break;
      case 'error':
        if (!['true', 'false'].includes(v.toLowerCase())) throw new DirectiveError(`invalid check directive: error=${v} (want true or false)`);
        out.error = v.toLowerCase() === 'true';
        break;
      case '':
        break;
      default:
        throw new DirectiveError(`invalid check directive: ${part}`);
    }
  }
  return out;
}
