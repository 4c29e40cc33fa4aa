/**
 * The CI docs' pipeline files must be usable as they are: every YAML block
 * parses, and every rbuild flag they use exists in that command's --help.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';

const docsDir = new URL('../docs/', import.meta.url).pathname;
const DOCS = ['ci.md', 'gitlab-ci.md', 'github-actions.md'];

/** The fenced ```yaml blocks of a markdown file. */
export function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ya?ml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** Every string scalar in a parsed YAML value. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object') return Object.values(v).flatMap(strings);
  return [];
}

/** The rbuild invocations in shell text: subcommand and the flags before `--` or the end of the command. */
export function rbuildCalls(script: string): Array<{ command: string; flags: string[] }> {
  const calls: Array<{ command: string; flags: string[] }> = [];
  for (const line of script.replace(/\\\n/g, ' ').split('\n')) {
    for (const m of line.matchAll(/(?:^|[\s;&|(])rbuild\s+([^;&|)]*)/g)) {
      const words = m[1]!.trim().split(/\s+/);
      const command = words[0] && !words[0].startsWith('-') ? words.shift()! : 'build';
      const flags: string[] = [];
      for (const w of words) {
        if (w === '--') break;
        if (/^--?[a-zA-Z]/.test(w)) flags.push(w.split('=')[0]!);
      }
      calls.push({ command, flags });
    }
  }
  return calls;
}

const helpCache = new Map<string, string>();
function help(command: string): string {
  let text = helpCache.get(command);
  if (text === undefined) {
    text = execFileSync(process.execPath, [join(inject('appDir'), 'dist/builder/cli/main.js'), command, '--help'], { encoding: 'utf8' });
    helpCache.set(command, text);
  }
  return text;
}

describe('rbuildCalls', () => {
  it('finds calls, joins continuations and stops at --', () => {
    expect(rbuildCalls('rbuild info\nx && rbuild build --root "$R" \\\n  -t a:1 --push .\nrbuild unshare -- tar -C x\nrm rbuild-store.tar')).toEqual([
      { command: 'info', flags: [] },
      { command: 'build', flags: ['--root', '-t', '--push'] },
      { command: 'unshare', flags: [] },
    ]);
  });
});

describe.each(DOCS)('docs/%s', (name) => {
  const text = readFileSync(join(docsDir, name), 'utf8');
  const blocks = yamlBlocks(text);

  it('has YAML blocks that parse', () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(() => parse(b, { strict: true, uniqueKeys: true })).not.toThrow();
  });

  it('uses only rbuild flags that exist, and builds and pushes', () => {
    const calls = blocks.flatMap((b) => strings(parse(b)).flatMap(rbuildCalls));
    // Guards the checker itself: a flag that does not exist must not match.
    expect(help('build')).not.toMatch(/(^|[\s,])--no-such-flag([\s,=]|$)/m);
    expect(help('build')).toMatch(/(^|[\s,])--cache-to([\s,=]|$)/m);
    expect(calls.some((c) => c.command === 'build' && c.flags.includes('--push'))).toBe(true);
    for (const c of calls) {
      const h = help(c.command);
      for (const f of c.flags) expect(h, `rbuild ${c.command} ${f} in docs/${name}`).toMatch(new RegExp(`(^|[\\s,])${f}([\\s,=]|$)`, 'm'));
    }
  });
});
