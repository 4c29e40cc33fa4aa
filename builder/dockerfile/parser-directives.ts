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
