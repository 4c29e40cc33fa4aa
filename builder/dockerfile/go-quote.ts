/** Go's strconv.Quote and `%q` of a []string: the quoting in BuildKit's AST dump. */

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space.
// Made on first use: V8 builds the Unicode property classes when the literal is evaluated (~1 ms),
// and every command loads the parser while only the AST dump quotes.
let printable: RegExp | undefined;

const named: Record<string, string> = {
  '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v',
};

/** Quotes `s` exactly as Go's strconv.Quote does. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    if (ch === '"' || ch === '\\') {
      out += '\\' + ch;
      continue;
    }
    if ((printable ??= /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u).test(ch)) {
      out += ch;
      continue;
    }
    const esc = named[ch];
    if (esc) {
      out += esc;
      continue;
    }
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd'; // a lone surrogate is invalid UTF-8 in Go
    else if (c < 0x10000) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += '\\U' + c.toString(16).padStart(8, '0');
  }
  return out + '"';
}

/** Formats a string list as Go's `fmt.Sprintf("%q", []string{...})`. */
export function goQuoteList(list: readonly string[]): string {
  return '[' + list.map(goQuote).join(' ') + ']';
}
