/**
 * Per-instruction argument parsers of BuildKit's parser (line_parsers.go and
 * split_command.go): they turn the text after the instruction name into the
 * argument list the AST dump shows. No variable expansion happens here.
 */
import { isGoSpace } from './shell-lex.js';

/** What a line parser produces: the argument list, whether it was JSON, and ONBUILD's inner line. */
export interface LineParse {
  args: string[];
  json: boolean;
  /** ONBUILD only: the text of the inner instruction. */
  subLine?: string;
}

/** A parse failure inside an instruction's arguments. */
export class LineParseError extends Error {
  readonly code = 'DOCKERFILE_SYNTAX';
}

const reWhitespace = /[\t\v\f\r ]+/;

/** Go's strings.TrimSpace. */
export function trimGoSpace(s: string): string {
  const cs = Array.from(s);
  let a = 0;
  let b = cs.length;
  while (a < b && isGoSpace(cs[a]!)) a++;
  while (b > a && isGoSpace(cs[b - 1]!)) b--;
  return cs.slice(a, b).join('');
}

/** Go's strings.TrimLeftFunc(s, unicode.IsSpace). */
export function trimLeftGoSpace(s: string): string {
  const cs = Array.from(s);
  let a = 0;
  while (a < cs.length && isGoSpace(cs[a]!)) a++;
  return cs.slice(a).join('');
}

function splitN2(s: string): string[] {
  const m = reWhitespace.exec(s);
  if (!m) return [s];
  return [s.slice(0, m.index), s.slice(m.index + m[0].length)];
}

/**
 * Splits a logical line into the lowercased instruction, its `--flags` and the
 * rest of the line (BuildKit's splitCommand + extractBuilderFlags).
 */
export function splitCommand(line: string): { cmd: string; flags: string[]; args: string } {
  const cmdline = splitN2(trimGoSpace(line));
  const cmd = cmdline[0]!.toLowerCase();
  let args = '';
  let flags: string[] = [];
  if (cmdline.length === 2) [args, flags] = extractBuilderFlags(cmdline[1]!);
  return { cmd, flags, args: trimGoSpace(args) };
}

/** Takes leading `--name[=value]` words off a line; `--` ends them. Quotes and \ are processed in flags. */
export function extractBuilderFlags(line: string): [string, string[]] {
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    let ch = pos < line.length ? line[pos]! : '';
    if (phase === 'spaces') {
      if (pos === line.length) break;
      if (isGoSpace(ch)) continue;
      // Only words starting with -- are flags.
      if (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-') return [line.slice(pos), words];
      phase = 'word';
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOK || word.length > 0)) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isGoSpace(ch)) {
        phase = 'spaces';
        if (word === '--') return [line.slice(pos), words];
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) continue; // a \ at the end is dropped
        pos++;
        ch = line[pos]!;
      }
      word += ch;
      continue;
    }
    // in a quote
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      pos++;
      ch = line[pos]!;
    }
    word += ch;
  }
  return ['', words];
}

/**
 * Splits on white space keeping quotes and escapes in the words (they are
 * removed later by the shell lexer). BuildKit's parseWords.
 */
export function parseWords(rest: string, escapeToken: string): string[] {
  const cs = Array.from(rest);
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let sb = '';
  for (let pos = 0; pos <= cs.length; pos++) {
    let ch = pos < cs.length ? cs[pos]! : '';
    if (phase === 'spaces') {
      if (pos === cs.length) break;
      if (isGoSpace(ch)) continue;
      phase = 'word';
    }
    if (pos === cs.length) {
      if (blankOK || sb.length > 0) words.push(sb);
      break;
    }
    if (phase === 'word') {
      if (isGoSpace(ch)) {
        phase = 'spaces';
        if (blankOK || sb.length > 0) words.push(sb);
        sb = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escapeToken) {
        if (pos + 1 === cs.length) continue; // an escape at the end of the line is dropped
        // Outside quotes an escape keeps itself and the next character, even a quote.
        sb += ch;
        pos++;
        ch = cs[pos]!;
      }
      sb += ch;
      continue;
    }
    // in a quote
    if (ch === quote) phase = 'word';
    // The escape token is special except in single quotes.
    if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === cs.length) {
        phase = 'word';
        continue;
      }
      pos++;
      sb += ch;
      ch = cs[pos]!;
    }
    sb += ch;
  }
  return words;
}

const notStringArray = 'when using JSON array syntax, arrays must be comprised of strings only';

/** Parses a JSON string array; undefined when the text is not JSON at all. */
function parseJSON(rest: string): string[] | undefined {
  rest = trimLeftGoSpace(rest);
  if (!rest.startsWith('[')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(rest);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  for (const s of v) if (typeof s !== 'string') throw new LineParseError(notStringArray);
  return v as string[];
}

function parseNameVal(rest: string, key: string, escapeToken: string): string[] {
  // Old form `KEY name value` if the first word has no '='; else `name=value ...`.
  const words = parseWords(rest, escapeToken);
  if (words.length === 0) return [];
  if (!words[0]!.includes('=')) {
    const parts = splitN2(rest);
    if (parts.length < 2) throw new LineParseError(`${key} must have two arguments`);
    return [parts[0]!, parts[1]!, ''];
  }
  const out: string[] = [];
  for (const word of words) {
    const i = word.indexOf('=');
    if (i < 0) throw new LineParseError(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
    out.push(word.slice(0, i), word.slice(i + 1), '=');
  }
  return out;
}

function parseStringsWhitespaceDelimited(rest: string): string[] {
  if (rest === '') return [];
  return rest.split(reWhitespace);
}

function parseMaybeJSON(rest: string): LineParse {
  if (rest === '') return { args: [], json: false };
  const j = parseJSON(rest);
  if (j) return { args: j, json: true };
  return { args: [rest], json: false };
}

function parseMaybeJSONToList(rest: string): LineParse {
  const j = parseJSON(rest);
  if (j) return { args: j, json: true };
  return { args: parseStringsWhitespaceDelimited(rest), json: false };
}

function parseHealthConfig(rest: string): LineParse {
  // The type word (CMD/NONE) then a maybe-JSON command.
  let sep = 0;
  while (sep < rest.length && !isGoSpace(rest[sep]!)) sep++;
  let next = sep;
  while (next < rest.length && isGoSpace(rest[next]!)) next++;
  if (sep === 0) return { args: [], json: false };
  const cmd = parseMaybeJSON(rest.slice(next));
  return { args: [rest.slice(0, sep), ...cmd.args], json: cmd.json };
}

/** The instructions BuildKit's parser knows; others parse with no arguments. */
export const knownInstructions = [
  'add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label',
  'maintainer', 'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir',
] as const;

/** Dispatches `rest` to the argument parser of instruction `cmd` (lowercase). */
export function parseArgs(cmd: string, rest: string, escapeToken: string): LineParse {
  switch (cmd) {
    case 'add': case 'copy': case 'volume':
      return parseMaybeJSONToList(rest);
    case 'cmd': case 'entrypoint': case 'run': case 'shell':
      return parseMaybeJSON(rest);
    case 'arg': // several names, with or without =value
      return { args: parseWords(rest, escapeToken), json: false };
    case 'env':
      return { args: parseNameVal(rest, 'ENV', escapeToken), json: false };
    case 'label':
      return { args: parseNameVal(rest, 'LABEL', escapeToken), json: false };
    case 'expose': case 'from':
      return { args: parseStringsWhitespaceDelimited(rest), json: false };
    case 'healthcheck':
      return parseHealthConfig(rest);
    case 'maintainer': case 'stopsignal': case 'user': case 'workdir':
      return { args: rest === '' ? [] : [rest], json: false };
    case 'onbuild':
      return rest === '' ? { args: [], json: false } : { args: [], json: false, subLine: rest };
    default:
      // Unknown instructions keep one empty argument, as BuildKit's parseIgnore does.
      return { args: [''], json: false };
  }
}
