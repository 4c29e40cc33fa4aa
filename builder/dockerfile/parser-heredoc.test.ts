import { describe, expect, it } from 'vitest';
import { parseDockerfile } from './parser.js';
import { chompHeredocContent, heredocsFromLine, parseHeredoc } from './parser-heredoc.js';

// Cases from BuildKit's parser_heredoc_test.go.
describe('heredocs as BuildKit reads them', () => {
  it('extracts heredocs from every kind of line', () => {
    const df = `
FROM alpine:3.6

ENV NAME=me

RUN ls

USER <<INVALID
INVALID

RUN <<EMPTY
EMPTY

RUN 3<<EMPTY2
EMPTY2

RUN "<<NOHEREDOC"

RUN <<INDENT
\tfoo
\tbar
INDENT

RUN <<-UNINDENT
\tbaz
\tquux
UNINDENT

RUN <<-UNINDENT2
\tbaz
\tquux
\tUNINDENT2

RUN <<-EXPAND
\texpand $NAME
EXPAND

RUN <<-'NOEXPAND'
\tdon't expand $NAME
NOEXPAND

RUN <<COPY
echo hello world
echo foo bar
COPY

RUN <<COMMENT
# internal comment
echo hello world
echo foo bar # trailing comment
COMMENT

RUN --mount=type=cache,target=/foo <<MOUNT
echo hello
MOUNT

COPY <<FILE1 <<FILE2 /dest
content 1
FILE1
content 2
FILE2

COPY <<EOF /quotes
"foo"
'bar'
EOF

COPY <<X <<Y /dest
Y
X
X
Y

RUN <<COMPLEX python3
print('hello world')
COMPLEX

COPY <<file.txt /dest
hello world
file.txt

RUN <<eo'f'
echo foo
eof

RUN <<eo\\'f
echo foo
eo'f

RUN <<'e'o\\'f
echo foo
eo'f

RUN <<'one two'
echo bar
one two

RUN <<$EOF
$EOF

RUN <<  EOF
EOF

RUN <<  EOF  > foo
EOF
\t`;
    const h = (name: string, content: string, expand = true, chomp = false, fileDescriptor = 0) => ({ name, content, expand, chomp, fileDescriptor });
    const want = [
      [], [], [], [],
      [h('EMPTY', '')],
      [h('EMPTY2', '', true, false, 3)],
      [],
      [h('INDENT', '\tfoo\n\tbar\n')],
      [h('UNINDENT', '\tbaz\n\tquux\n', true, true)],
      [h('UNINDENT2', '\tbaz\n\tquux\n', true, true)],
      [h('EXPAND', '\texpand $NAME\n', true, true)],
      [h('NOEXPAND', "\tdon't expand $NAME\n", false, true)],
      [h('COPY', 'echo hello world\necho foo bar\n')],
      [h('COMMENT', '# internal comment\necho hello world\necho foo bar # trailing comment\n')],
      [h('MOUNT', 'echo hello\n')],
      [h('FILE1', 'content 1\n'), h('FILE2', 'content 2\n')],
      [h('EOF', '"foo"\n\'bar\'\n')],
      [h('X', 'Y\n'), h('Y', 'X\n')],
      [h('COMPLEX', "print('hello world')\n")],
      [h('file.txt', 'hello world\n')],
      [h('eof', 'echo foo\n', false)],
      [h("eo'f", 'echo foo\n')],
      [h("eo'f", 'echo foo\n', false)],
      [h('one two', 'echo bar\n', false)],
      [h('$EOF', '')],
      [h('EOF', '')],
      [h('EOF', '')],
    ];
    const r = parseDockerfile(df, { file: 'Dockerfile' });
    want.forEach((w, i) => expect({ i, docs: r.nodes[i + 1]!.heredocs }).toEqual({ i, docs: w }));
  });

  it('ignores heredoc markers in JSON form', () => {
    const r = parseDockerfile('FROM alpine:3.6\nRUN ["whoami"]\nRUN ["<<EOF"]\nRUN ["<<\'EOF\'"]\n', { file: 'Dockerfile' });
    for (const n of r.nodes.slice(1)) expect(n.heredocs).toEqual([]);
  });

  it('chomps leading tabs', () => {
    expect(chompHeredocContent('\thello\n\tworld\n')).toBe('hello\nworld\n');
  });

  it('classifies heredoc words', () => {
    for (const s of ['<<EOF', "<<'EOF'", '<<"EOF"', '<<-EOF', "<<-'EOF'", '<<-"EOF"', '<<EO"F"', '<< EOF', '<<- EOF']) {
      expect(parseHeredoc(s)?.name).toBe('EOF');
    }
    for (const s of ["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"']) expect(() => parseHeredoc(s)).toThrow();
    for (const s of ['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF', '<<EOF sh']) expect(parseHeredoc(s)).toBeUndefined();
  });

  it('finds every heredoc on a line', () => {
    const names = (line: string) => heredocsFromLine(line).map((h) => h.name);
    expect(names('RUN <<EOF')).toEqual(['EOF']);
    expect(names('RUN <<-EOF')).toEqual(['EOF']);
    // BuildKit's own test loops over what it finds, so this passes there with
    // no heredoc too: the lexer only keeps blanks right after `<<`.
    expect(names('RUN <<- EOF')).toEqual([]);
    expect(names('RUN << -EOF')).toEqual(['-EOF']);
    expect(names("RUN <<'EOF'")).toEqual(['EOF']);
    expect(names('RUN 4<<EOF')).toEqual(['EOF']);
    expect(names('RUN <<EOF <<EOF2')).toEqual(['EOF', 'EOF2']);
    expect(names("RUN '<<EOF'")).toEqual([]);
    expect(names('RUN "<<EOF"')).toEqual([]);
  });
});
