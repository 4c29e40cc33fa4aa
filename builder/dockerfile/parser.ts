/**
 * The Dockerfile parser: text -> untyped instruction nodes with line ranges,
 * directives and heredocs, following BuildKit's parser.Parse line for line
 * (continuations, comments inside continuations, CRLF, BOM, heredocs).
 */
import { DirectiveError, DirectiveParser, type Directive } from './parser-directives.js';
import { DockerfileError } from './errors.js';
import { goQuote, goQuoteList } from './go-quote.js';
import { heredocsFromLine, type Heredoc } from './parser-heredoc.js';
import { LineParseError, parseArgs, splitCommand, trimLeftGoSpace } from './parser-line-parsers.js';

export type { Directive } from './parser-directives.js';
export type { Heredoc } from './parser-heredoc.js';

/** One instruction as parsed, before typing. */
export interface Node {
  /** The instruction name, lowercased (`run`). */
  value: string;
  /** Arguments as BuildKit's parser leaves them (quotes kept except in JSON form). */
  args: string[];
  /** ONBUILD's inner instruction. */
  sub?: Node;
  /** `--name=value` flags in order, as written (quotes removed). */
  flags: string[];
  /** True for the JSON (exec) form. */
  json: boolean;
  heredocs: Heredoc[];
  /** The logical line (continuations joined, comments removed). */
  original: string;
  /** 1-based first and last physical line, heredoc bodies included. */
  startLine: number;
  endLine: number;
  /** 1-based column of the instruction keyword on startLine. */
  column: number;
  /** Comment lines right above the instruction. */
  prevComment: string[];
}

/** A non-fatal finding of the parser. */
export interface ParseWarning {
  code: 'EMPTY_CONTINUATION_LINE' | 'CUSTOM_SYNTAX_IGNORED';
  message: string;
  line: number;
}

/** What parseDockerfile returns. */
export interface ParseResult {
  file: string;
  nodes: Node[];
  directives: Directive[];
  escapeToken: '\\' | '`';
  warnings: ParseWarning[];
  /** The physical lines (terminators and BOM removed), for error columns and carets. */
  lines: string[];
}

const heredocInstructions = new Set(['add', 'copy', 'run']);

function trimNewline(s: string): string {
  return s.replace(/[\r\n]+$/, '');
}

function isComment(line: string): boolean {
  return trimLeftGoSpace(trimNewline(line)).startsWith('#');
}

function isEmptyContinuationLine(line: string): boolean {
  return trimLeftGoSpace(trimNewline(line)).length === 0;
}

function continuationRegex(escape: string): RegExp {
  const e = escape === '`' ? '`' : '\\\\';
  // The escape token is a continuation when last on the line (trailing blanks
  // allowed) unless escaped itself; or alone on its line.
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

function canContainHeredoc(node: Node): boolean {
  const n = node.value === 'onbuild' && node.sub ? node.sub : node;
  return heredocInstructions.has(n.value) && !n.json;
}

function buildNode(line: string, escapeToken: string, comments: string[]): Node {
  const { cmd, flags, args } = splitCommand(line);
  const p = parseArgs(cmd, args, escapeToken);
  const node: Node = {
    value: cmd,
    args: p.args,
    flags,
    json: p.json,
    heredocs: [],
    original: line,
    startLine: 0,
    endLine: 0,
    column: 1,
    prevComment: comments,
  };
  if (p.subLine !== undefined) node.sub = buildNode(p.subLine, escapeToken, []);
  return node;
}

function splitLines(text: string): string[] {
  // Lines keep their terminator, like BuildKit's scanLines.
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * Parses Dockerfile text. Throws DockerfileError (with file and line) on
 * syntax errors, for an empty file, and for a file with no instructions.
 */
export function parseDockerfile(text: string, opts: { file: string }): ParseResult {
  const file = opts.file;
  if (text.replace(/^\uFEFF/, '').trim() === '') {
    throw new DockerfileError('DOCKERFILE_EMPTY', 'the Dockerfile is empty', { file }, {
      hint: 'a Dockerfile needs at least a FROM instruction',
    });
  }
  const lines = splitLines(text);
  const directives = new DirectiveParser();
  let escapeToken: '\\' | '`' = '\\';
  let contRe = continuationRegex(escapeToken);
  const nodes: Node[] = [];
  const warnings: ParseWarning[] = [];
  let comments: string[] = [];
  let idx = 0;
  let currentLine = 0;

  const fail = (err: unknown, line: number, endLine = line, column = 1): never => {
    if (err instanceof DockerfileError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new DockerfileError('DOCKERFILE_SYNTAX', msg, { file, line: Math.max(line, 1), column, endLine }, { cause: err });
  };

  const processLine = (raw: string, stripLeft: boolean): string => {
    let token = trimNewline(raw);
    if (stripLeft) token = trimLeftGoSpace(token);
    const d = directives.parseLine(token);
    if (d && d.name === 'escape') {
      if (d.value !== '`' && d.value !== '\\') throw new DirectiveError(`invalid escape token '${d.value}' does not match \` or \\`);
      escapeToken = d.value;
      contRe = continuationRegex(escapeToken);
    }
    // A line that starts with # is a comment: drop it whole.
    return token.startsWith('#') ? '' : token;
  };

  const trimContinuation = (line: string): [string, boolean] => {
    if (contRe.test(line)) return [line.replace(contRe, '$1'), false];
    return [line, true];
  };

  while (idx < lines.length) {
    let raw = lines[idx++]!;
    if (currentLine === 0) raw = raw.replace(/^\uFEFF/, '');
    if (isComment(raw)) {
      const c = trimNewline(trimLeftGoSpace(raw)).slice(1).trim();
      if (c === '') comments = [];
      else comments.push(c);
    }
    let bytesRead: string;
    try {
      bytesRead = processLine(raw, true);
    } catch (err) {
      fail(err, currentLine + 1);
    }
    currentLine++;
    const startLine = currentLine;
    const column = raw.length - trimLeftGoSpace(raw).length + 1;
    let [line, isEnd] = trimContinuation(bytesRead!);
    if (isEnd && line === '') continue;

    let hasEmptyContinuation = false;
    while (!isEnd && idx < lines.length) {
      const next = lines[idx++]!;
      let processed: string;
      try {
        processed = processLine(next, false);
      } catch (err) {
        fail(err, currentLine + 1);
      }
      currentLine++;
      if (isComment(next)) continue; // comments inside a continuation are skipped
      if (isEmptyContinuationLine(processed!)) {
        hasEmptyContinuation = true;
        continue;
      }
      let cont: string;
      [cont, isEnd] = trimContinuation(processed!);
      line += cont;
    }
    if (hasEmptyContinuation) {
      warnings.push({ code: 'EMPTY_CONTINUATION_LINE', message: `Empty continuation line found in: ${line}`, line: currentLine });
    }

    let node: Node;
    try {
      node = buildNode(line, escapeToken, comments);
    } catch (err) {
      if (err instanceof LineParseError || err instanceof Error) fail(err, startLine, currentLine, column);
      throw err;
    }
    node = node!;

    if (canContainHeredoc(node) && line.includes('<<')) {
      let docs: Heredoc[];
      try {
        docs = heredocsFromLine(line);
      } catch (err) {
        fail(err, startLine, currentLine, column);
      }
      for (const doc of docs!) {
        let terminated = false;
        while (idx < lines.length) {
          const body = lines[idx++]!;
          currentLine++;
          let candidate = trimNewline(body);
          if (doc.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
          doc.content += body;
        }
        if (!terminated) {
          throw new DockerfileError('DOCKERFILE_SYNTAX', 'unterminated heredoc', { file, line: startLine, column, endLine: currentLine }, {
            hint: `end the heredoc with a line containing only ${doc.name}`,
          });
        }
        node.heredocs.push(doc);
      }
    }
    node.startLine = startLine;
    node.endLine = currentLine;
    node.column = column;
    if (node.sub) {
      node.sub.startLine = startLine;
      node.sub.endLine = currentLine;
      node.sub.heredocs = node.heredocs;
    }
    nodes.push(node);
    comments = [];
  }

  if (nodes.length === 0) {
    throw new DockerfileError('DOCKERFILE_NO_INSTRUCTIONS', 'file with no instructions', { file, line: 0 }, {
      hint: 'the Dockerfile has only comments or blank lines; add a FROM instruction',
    });
  }
  const syntax = directives.directives.find((d) => d.name === 'syntax');
  if (syntax && !/^(docker\.io\/)?(docker\/)?dockerfile(-upstream)?([:@][^ ]*)?( |$)/.test(syntax.value)) {
    warnings.push({
      code: 'CUSTOM_SYNTAX_IGNORED',
      message: `the syntax directive names frontend ${syntax.value.split(' ')[0]}; rbuild reads the file with its built-in Dockerfile frontend`,
      line: syntax.line,
    });
  }
  const plain = lines.map(trimNewline);
  if (plain.length > 0) plain[0] = plain[0]!.replace(/^\uFEFF/, '');
  return { file, nodes, directives: directives.directives, escapeToken, warnings, lines: plain };
}

/** BuildKit's Node.Dump for one instruction: `run ["--mount=x"] "a" "b"`. */
export function dumpNode(node: Node): string {
  let s = node.value.toLowerCase();
  if (node.flags.length > 0) s += ' ' + goQuoteList(node.flags);
  if (node.sub) s += ' (' + dumpNode(node.sub) + ')';
  else for (const a of node.args) s += ' ' + goQuote(a);
  return s.trim();
}

/** The whole AST in BuildKit's dump format (the `result` files), newline-terminated. */
export function dumpAst(result: Pick<ParseResult, 'nodes'>): string {
  return result.nodes.map((n) => '(' + dumpNode(n) + ')\n').join('').trim() + '\n';
}
