/** Heredoc detection as BuildKit does it: `<<EOF`, `<<-EOF`, quoted names, several per line. */
import { ShellLex } from './shell-lex.js';

/** A heredoc attached to an instruction. */
export interface Heredoc {
  /** The delimiter word, quotes removed (`EOF`). */
  name: string;
  /** `3<<EOF` gives 3; 0 when absent. */
  fileDescriptor: number;
  /** False when any part of the delimiter was quoted: the content is not expanded. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from content lines and the terminator. */
  chomp: boolean;
  /** The raw content lines, each with its line ending. */
  content: string;
}

const reHeredoc = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;

/** Parses one word as a heredoc marker; undefined if it is not one. */
export function parseHeredoc(src: string): Heredoc | undefined {
  const m = reHeredoc.exec(src);
  if (!m) return undefined;
  const rest = m[3]!;
  if (rest.length === 0) return undefined;
  // Lex the name with and without quotes: if the counts of quote characters
  // differ, part of the name was quoted and the content must not be expanded.
  const plain = new ShellLex('\\', { skipUnsetEnv: true });
  const words = plain.processWords(rest, []);
  if (words.length !== 1) return undefined;
  const raw = new ShellLex('\\', { skipUnsetEnv: true, rawQuotes: true });
  const wordsRaw = raw.processWords(rest, []);
  if (wordsRaw.length !== words.length) throw new Error(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  const quotes = (s: string): number => (s.match(/['"]/g) ?? []).length;
  return {
    name: words[0]!,
    fileDescriptor: m[1] ? Number.parseInt(m[1], 10) : 0,
    expand: quotes(words[0]!) === quotes(wordsRaw[0]!),
    chomp: m[2] === '-',
    content: '',
  };
}

/** Every heredoc marker on an instruction line, in order. */
export function heredocsFromLine(line: string): Heredoc[] {
  const lex = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  let words: string[];
  try {
    words = lex.processWords(line, []);
  } catch {
    words = [];
  }
  const docs: Heredoc[] = [];
  for (const w of words) {
    const h = parseHeredoc(w);
    if (h) docs.push(h);
  }
  return docs;
}

/** Strips leading tabs from every line (the `<<-` form). */
export function chompHeredocContent(src: string): string {
  return src.replace(/(^|\n)\t+/g, '$1');
}
