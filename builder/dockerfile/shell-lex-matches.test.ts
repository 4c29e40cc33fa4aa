import { describe, expect, it } from 'vitest';
import { ShellLex } from './shell-lex.js';

// Table from BuildKit's TestProcessWithMatches (shell/lex_test.go).
type Case = { input: string; envs: Record<string, string>; expected?: string; err?: true; matches?: string[]; unmatched?: string[] };
const fb = { FOO: 'xxx', BAR: '' };
const cases: Case[] = [
  { input: 'x', envs: { DUMMY: 'dummy' }, expected: 'x' },
  { input: 'x ${UNUSED}', envs: { DUMMY: 'dummy' }, expected: 'x ', unmatched: ['UNUSED'] },
  { input: 'x ${FOO}', envs: { FOO: 'y' }, expected: 'x y', matches: ['FOO'] },
  { input: '${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', envs: fb, expected: 'xxx  ccc', matches: ['FOO', 'BAR'], unmatched: ['BAZ'] },
  { input: '${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', envs: fb, expected: 'xxx bbb ccc', matches: ['FOO', 'BAR'], unmatched: ['BAZ'] },
  { input: '${FOO:-}', envs: fb, expected: 'xxx', matches: ['FOO'] },
  { input: '${FOO:-}', envs: {}, expected: '', unmatched: ['FOO'] },
  { input: '${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', envs: fb, expected: 'aaa bbb ', matches: ['FOO', 'BAR'], unmatched: ['BAZ'] },
  { input: '${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', envs: fb, expected: 'aaa  ', matches: ['FOO', 'BAR'], unmatched: ['BAZ'] },
  { input: '${FOO?aaa}', envs: fb, expected: 'xxx', matches: ['FOO'] },
  { input: '${BAR?bbb}', envs: fb, expected: '', matches: ['BAR'] },
  { input: '${BAZ?ccc}', envs: fb, err: true },
  { input: '${FOO:?aaa}', envs: fb, expected: 'xxx', matches: ['FOO'] },
  { input: '${BAR:?bbb}', envs: fb, err: true },
  { input: '${BAZ:?ccc}', envs: fb, err: true },
  { input: '${BAZ:?}', envs: fb, err: true },
  { input: '${FOO=aaa}', envs: fb, err: true },
  { input: '${FOO=:aaa}', envs: fb, err: true },
  { input: '${FOO=}', envs: {}, err: true },
  { input: '${FOO#()[]{\\}^$.\\*\\?|\\\\}', envs: { FOO: '()[]{}^$.*?|\\x' }, expected: 'x', matches: ['FOO'] },
  { input: '${FOO%%\\**}', envs: { FOO: 'xx**' }, expected: 'xx', matches: ['FOO'] },
  { input: '${FOO#*x*y}', envs: { FOO: 'xxyy' }, expected: 'y', matches: ['FOO'] },
  { input: '${FOO#*}', envs: { FOO: 'xxyy' }, expected: 'xxyy', matches: ['FOO'] },
  { input: '${FOO#$BAR}', envs: { FOO: 'xxyy', BAR: 'x' }, expected: 'xyy', matches: ['FOO', 'BAR'] },
  { input: '${FOO#$BAR}', envs: { FOO: 'xxyy', BAR: '' }, expected: 'xxyy', matches: ['FOO', 'BAR'] },
  { input: '${FOO#}', envs: { FOO: 'xxyy' }, expected: 'xxyy', matches: ['FOO'] },
  { input: '${FOO##*x}', envs: { FOO: 'xxyy' }, expected: 'yy', matches: ['FOO'] },
  { input: '${FOO##}', envs: { FOO: 'xxyy' }, expected: 'xxyy', matches: ['FOO'] },
  { input: '${FOO#?\\?}', envs: { FOO: '???y' }, expected: '?y', matches: ['FOO'] },
  { input: '${ABC:-.}${FOO%x}${ABC:-.}', envs: { FOO: 'xxyy' }, expected: '.xxyy.', matches: ['FOO'], unmatched: ['ABC'] },
  { input: '${FOO%%\\**\\*}', envs: { FOO: 'a***yy*' }, expected: 'a', matches: ['FOO'] },
  { input: '${FOO%}', envs: { FOO: 'xxyy' }, expected: 'xxyy', matches: ['FOO'] },
  { input: '${FOO%%$BAR}', envs: { FOO: 'xxyy', BAR: '' }, expected: 'xxyy', matches: ['FOO', 'BAR'] },
  { input: '${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', envs: { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' }, expected: '/foo.*/*.txt - /foo..*.txt', matches: ['FOO', 'NEEDLE'] },
  { input: '${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', envs: { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' }, expected: '/tmp/bar.txt - /bar.txt', matches: ['FOO', 'NEEDLE'] },
  { input: '${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}', envs: { FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', REPLACEMENT: '/' }, expected: '/foo/b/c.txt - /foo/c.txt', matches: ['FOO', 'NEEDLE', 'REPLACEMENT'] },
  { input: '${FOO/$NEEDLE/$REPLACEMENT}', envs: { FOO: 'http://google.de', NEEDLE: 'http://', REPLACEMENT: 'https://' }, expected: 'https://google.de', matches: ['FOO', 'NEEDLE', 'REPLACEMENT'] },
  { input: '${FOO//\\//\\/}', envs: { FOO: '/tmp/foo.txt' }, expected: '\\/tmp\\/foo.txt', matches: ['FOO'] },
  { input: '${FOO/$BAR/ww}', envs: { FOO: 'xxyy', BAR: '' }, expected: 'wwxxyy', matches: ['FOO', 'BAR'] },
  { input: '${FOO//ww}', envs: { FOO: 'xxyy' }, err: true },
  { input: '${FOO//}', envs: { FOO: 'xxyy' }, err: true },
  { input: '${FOO///}', envs: { FOO: 'xxyy' }, expected: 'xxyy', matches: ['FOO'] },
  { input: '${FOO///}', envs: {}, expected: '', unmatched: ['FOO'] },
];

describe('BuildKit TestProcessWithMatches', () => {
  const lex = new ShellLex('\\');
  for (const c of cases) {
    it(`${c.input} with ${JSON.stringify(c.envs)}`, () => {
      if (c.err) {
        expect(() => lex.process(c.input, c.envs)).toThrow();
        return;
      }
      const r = lex.process(c.input, c.envs);
      expect(r.result).toBe(c.expected);
      expect([...r.matched].sort()).toEqual([...(c.matches ?? [])].sort());
      expect([...r.unmatched].sort()).toEqual([...(c.unmatched ?? [])].sort());
    });
  }

  it('expands the release file name pattern with and without a variant', () => {
    const release = 'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz';
    expect(lex.processWord(release, { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7' })).toBe('something-v1.2.3.linux-arm-v7.tar.gz');
    expect(lex.processWord(release, { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm64', TARGETVARIANT: '' })).toBe('something-v1.2.3.linux-arm64.tar.gz');
    expect(lex.processWord(release, { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm64' })).toBe('something-v1.2.3.linux-arm64.tar.gz');
  });

  it('wordsTest in RawQuotes+SkipUnsetEnv mode keeps what is unset', () => {
    const raw = new ShellLex('\\', { rawQuotes: true, skipUnsetEnv: true });
    expect(raw.processWords('hello${hi}bye', [])).toEqual(['hello${hi}bye']);
    expect(raw.processWords('a "b c" $X', ['X=1'])).toEqual(['a', '"b c"', '1']);
  });
});
