/**
 * Shell-word processing as BuildKit's `shell.Lex` does it: quotes, escapes,
 * `$VAR` / `${VAR...}` expansion and word splitting. This is not a shell: it
 * never runs anything; it only mirrors what the Dockerfile frontend expands.
 */

/** An environment: a Map, a plain record, or Docker's `KEY=value` list. */
export type EnvLike = ReadonlyMap<string, string> | Readonly<Record<string, string>> | readonly string[];

/** Raised when a word cannot be expanded (unbalanced quotes, bad `${}`...). */
export class ShellLexError extends Error {
  readonly code = 'SHELL_LEX';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShellLexError';
  }
}

/** Options matching BuildKit's Lex fields (used by the heredoc detector). */
export interface ShellLexOptions {
  /** Keep quote characters in the output. */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters. */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written. */
  skipUnsetEnv?: boolean;
}

/** Result of one expansion: the word, its split form, and which names resolved. */
export interface ProcessWordResult {
  result: string;
  words: string[];
  matched: Set<string>;
  unmatched: Set<string>;
}

const EOF = undefined;
type Ch = string | undefined;

/** Go's unicode.IsSpace. */
export function isGoSpace(ch: string): boolean {
  switch (ch) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case '\u0085': case '\u00a0':
      return true;
  }
  const c = ch.codePointAt(0)!;
  if (c < 0x1680) return false;
  return /^\p{Zs}$/u.test(ch) || ch === '\u2028' || ch === '\u2029';
}

const isDigit = (ch: string): boolean => /^\p{Nd}$/u.test(ch);
const isLetter = (ch: string): boolean => /^\p{L}$/u.test(ch);
const isSpecialParam = (ch: string): boolean => '@*#?-$!0'.includes(ch);

/** Normalises any EnvLike to a Map (later `KEY=` entries win, as in BuildEnvs). */
export function toEnvMap(env: EnvLike): Map<string, string> {
  if (env instanceof Map) return env as Map<string, string>;
  const out = new Map<string, string>();
  if (Array.isArray(env)) {
    for (const e of env as readonly string[]) {
      const i = e.indexOf('=');
      if (i < 0) out.set(e, '');
      else out.set(e.slice(0, i), e.slice(i + 1));
    }
    return out;
  }
  for (const [k, v] of Object.entries(env as Record<string, string>)) out.set(k, v);
  return out;
}

class Words {
  word = '';
  words: string[] = [];
  inWord = false;
  addChar(ch: string): void {
    if (isGoSpace(ch) && this.inWord) {
      if (this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else if (!isGoSpace(ch)) this.addRawChar(ch);
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  getWords(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

/** BuildKit's shell.Lex: expands and splits words with a given escape token. */
export class ShellLex {
  readonly escapeToken: string;
  rawQuotes: boolean;
  rawEscapes: boolean;
  skipProcessQuotes: boolean;
  skipUnsetEnv: boolean;

  constructor(escapeToken = '\\', opts: ShellLexOptions = {}) {
    if (escapeToken !== '\\' && escapeToken !== '`') throw new ShellLexError(`invalid escape token ${escapeToken}`);
    this.escapeToken = escapeToken;
    this.rawQuotes = opts.rawQuotes ?? false;
    this.rawEscapes = opts.rawEscapes ?? false;
    this.skipProcessQuotes = opts.skipProcessQuotes ?? false;
    this.skipUnsetEnv = opts.skipUnsetEnv ?? false;
  }

  /** Expands variables in `word`, removing quotes and escapes; spaces are kept. */
  processWord(word: string, env: EnvLike): string {
    return this.process(word, env).result;
  }

  /** Expands `word` and splits it into words (quoted spaces do not split). */
  processWords(word: string, env: EnvLike): string[] {
    return this.process(word, env).words;
  }

  /** Expands `word` and reports which variable names were and were not found. */
  process(word: string, env: EnvLike): ProcessWordResult {
    const sw = new ShellWord(this, toEnvMap(env), word);
    try {
      const [result, words] = sw.processStopOn(EOF, this.rawEscapes);
      return { result, words, matched: sw.matches, unmatched: sw.nonmatches };
    } catch (err) {
      if (err instanceof ShellLexError) {
        throw new ShellLexError(`failed to process ${goQuoteSimple(word)}: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }
}

// Only used for messages; the full Go quoting lives in go-quote.ts.
function goQuoteSimple(s: string): string {
  return JSON.stringify(s);
}

class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  private rawEscapes: boolean;
  readonly matches = new Set<string>();
  readonly nonmatches = new Set<string>();

  constructor(
    private readonly lex: ShellLex,
    private readonly envs: Map<string, string>,
    word: string,
  ) {
    this.chars = Array.from(word);
    this.rawEscapes = lex.rawEscapes;
  }

  private peek(): Ch {
    return this.chars[this.pos];
  }

  private next(): Ch {
    const ch = this.chars[this.pos];
    if (ch !== EOF) this.pos++;
    return ch;
  }

  processStopOn(stopChar: Ch, rawEscapes: boolean): [string, string[]] {
    let result = '';
    const words = new Words();
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      while (this.peek() !== EOF) {
        let ch = this.peek()!;
        if (stopChar !== EOF && ch === stopChar) {
          this.next();
          return [result, words.getWords()];
        }
        if (ch === '$') {
          const tmp = this.processDollar();
          result += tmp;
          words.addString(tmp);
        } else if (ch === '<') {
          // `<<` keeps the blanks after it in the same word, so `<< EOF` is one word.
          const tmp = this.processPossibleHeredoc();
          result += tmp;
          words.addRawString(tmp);
        } else if (!this.lex.skipProcessQuotes && (ch === "'" || ch === '"')) {
          const tmp = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else {
          ch = this.next()!;
          if (ch === this.lex.escapeToken) {
            if (this.rawEscapes) {
              words.addRawChar(ch);
              result += ch;
            }
            // The escape token escapes the next character, except at the end.
            const n = this.next();
            if (n === EOF) break;
            ch = n;
            words.addRawChar(ch);
          } else {
            words.addChar(ch);
          }
          result += ch;
        }
      }
      if (stopChar !== EOF) {
        throw new ShellLexError(`unexpected end of statement while looking for matching ${stopChar}`);
      }
      return [result, words.getWords()];
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    let space = '';
    for (let c = this.peek(); c === ' ' || c === '\t' || c === '\r'; c = this.peek()) space += this.next();
    return '<<' + space;
  }

  private processSingleQuote(): string {
    // Everything up to the next ' is literal; ' itself cannot be escaped.
    let result = '';
    let ch = this.next()!;
    if (this.lex.rawQuotes) result += ch;
    for (;;) {
      const c = this.next();
      if (c === EOF) throw new ShellLexError('unexpected end of statement while looking for matching single-quote');
      if (c === "'") {
        if (this.lex.rawQuotes) result += c;
        return result;
      }
      ch = c;
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    // Literal except $, and the escape token before " $ or itself.
    let result = '';
    const open = this.next()!;
    if (this.lex.rawQuotes) result += open;
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new ShellLexError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.next();
        if (this.lex.rawQuotes) result += p;
        return result;
      }
      if (p === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next()!;
      if (ch === this.lex.escapeToken) {
        if (this.rawEscapes) result += ch;
        const q = this.peek();
        if (q === EOF) continue; // an escape at the end of the word is dropped
        if (q === '"' || q === '$' || q === this.lex.escapeToken) ch = this.next()!;
      }
      result += ch;
    }
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const [value, found] = this.getEnv(name);
      if (!found && this.lex.skipUnsetEnv) return '$' + name;
      return value;
    }
    this.next();
    const p = this.peek();
    if (p === EOF) throw new ShellLexError("syntax error: missing '}'");
    if (p === '{' || p === '}' || p === ':') throw new ShellLexError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let chs = ch ?? '';
    let nullIsUnset = false;

    if (ch === '}') {
      const [value, set] = this.getEnv(name);
      if (!set && this.lex.skipUnsetEnv) return `\${${name}}`;
      return value;
    }
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      chs += ch ?? '';
    }
    // After ':' BuildKit falls through to this block whatever follows.
    if (nullIsUnset || ch === '+' || ch === '-' || ch === '?' || ch === '#' || ch === '%') {
      const rawEscapes = ch === '#' || ch === '%';
      let word: string;
      try {
        [word] = this.processStopOn('}', rawEscapes);
      } catch (err) {
        if (this.peek() === EOF) throw new ShellLexError("syntax error: missing '}'");
        throw err;
      }
      const [value, set] = this.getEnv(name);
      if (this.lex.skipUnsetEnv && !set) return `\${${name}${chs}${word}}`;
      switch (ch) {
        case '-':
          return !set || (nullIsUnset && value === '') ? word : value;
        case '+':
          return !set || (nullIsUnset && value === '') ? '' : word;
        case '?':
          if (!set) throw new ShellLexError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
          if (nullIsUnset && value === '') throw new ShellLexError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
          return value;
        case '%':
        case '#': {
          // %/# remove the shortest match, %%/## the longest.
          let greedy = false;
          if (word.length > 0 && word[0] === ch) {
            greedy = true;
            word = word.slice(1);
          }
          return ch === '%' ? trimSuffix(word, value, greedy) : trimPrefix(word, value, greedy);
        }
        default:
          throw new ShellLexError(`unsupported modifier (${chs}) in substitution`);
      }
    }
    if (ch === '/') {
      const replaceAll = this.peek() === '/';
      if (replaceAll) this.next();
      let pattern: string;
      let replacement: string;
      try {
        [pattern] = this.processStopOn('/', true);
      } catch (err) {
        if (this.peek() === EOF) throw new ShellLexError("syntax error: missing '/' in ${}");
        throw err;
      }
      try {
        [replacement] = this.processStopOn('}', true);
      } catch (err) {
        if (this.peek() === EOF) throw new ShellLexError("syntax error: missing '}'");
        throw err;
      }
      const [value, set] = this.getEnv(name);
      if (this.lex.skipUnsetEnv && !set) return `\${${name}/${pattern}/${replacement}}`;
      const re = shellPatternToRegex(pattern, true, false, replaceAll);
      if (replaceAll) return value.replace(re, () => replacement);
      const m = re.exec(value);
      if (m) return value.slice(0, m.index) + replacement + value.slice(m.index + m[0].length);
      return value;
    }
    throw new ShellLexError(`unsupported modifier (${chs}) in substitution`);
  }

  private processName(): string {
    // A name is letters, digits and _; a leading digit reads all digits;
    // a special parameter is a single character.
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek()!;
      if (name.length === 0 && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek()!)) name += this.next();
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) return this.next()!;
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  private getEnv(name: string): [string, boolean] {
    const v = this.envs.get(name);
    if (v !== undefined) {
      this.matches.add(name);
      return [v, true];
    }
    this.nonmatches.add(name);
    return ['', false];
  }
}

/**
 * Converts a shell wildcard pattern (`*`, `?`, escapes; no brackets) to a
 * regular expression, as BuildKit's convertShellPatternToRegex does.
 */
function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  // Go's '.' matches anything but \n; JS's also excludes \r and U+2028/9.
  const any = '[^\\n]';
  const star = greedy ? `${any}*` : `${any}*?`;
  for (let i = 0; i < chars.length; i++) {
    let tok = chars[i]!;
    switch (tok) {
      case '*':
        out += star;
        continue;
      case '?':
        out += any;
        continue;
      case '\\': {
        // } and / are escaped inside ${}, but the escape is not part of the pattern.
        const nx = chars[i + 1];
        if (nx === '}' || nx === '/') continue;
        out += '\\';
        i++;
        tok = chars[i] ?? '';
        if (tok !== '*' && tok !== '?' && tok !== '\\') {
          throw new ShellLexError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${tok}'`);
        }
        out += tok;
        continue;
      }
      case '[': case ']': case '{': case '}': case '.': case '+': case '(': case ')': case '|': case '^': case '$':
        out += '\\' + tok;
        continue;
    }
    out += tok;
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

// Reverses a pattern keeping escapes in front of what they escape: a\*c -> c\*a.
function reversePattern(pattern: string): string {
  const rs = Array.from(pattern);
  const out: string[] = new Array(rs.length);
  const last = rs.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = rs[i]!;
    const o = last - i;
    if (tok === '\\' && i !== last) {
      out[o - 1] = tok;
      out[o] = rs[i + 1]!;
      i += 2;
    } else {
      out[o] = tok;
      i++;
    }
  }
  return out.join('');
}

const reverseString = (s: string): string => Array.from(s).reverse().join('');

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  // Regexes cannot find the shortest rightmost match: reverse both instead.
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}
