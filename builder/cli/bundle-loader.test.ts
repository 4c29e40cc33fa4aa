import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Module } from 'node:module';
import { BUNDLE_ID_MARK, bundleId, cachedDataFor, cacheFileBytes, WRAP_START } from './bundle-loader.js';

const execFileP = promisify(execFile);
const ID = 'ab'.repeat(32);

describe('bundle ids and cache files', () => {
  it('reads the id the bundle step appends', () => {
    expect(bundleId(`code();\n${BUNDLE_ID_MARK}${ID}\n`)).toBe(ID);
    expect(bundleId('code();\n')).toBeUndefined();
    expect(bundleId(`${BUNDLE_ID_MARK}not-hex\n`)).toBeUndefined();
  });

  it('gives back V8 data only for the bundle it was made for', () => {
    const file = cacheFileBytes(Buffer.from('v8 bytes'), ID);
    expect(cachedDataFor(file, ID)?.toString()).toBe('v8 bytes');
    expect(cachedDataFor(file, 'cd'.repeat(32))).toBeUndefined();
    expect(cachedDataFor(Buffer.from('garbage'), ID)).toBeUndefined();
  });
});

// The real thing: the loader (tsc's output) in a fresh node process, as main.js runs it.
describe('runBundle in node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rbuild-bundle-loader-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const loader = join(inject('appDir'), 'dist/builder/cli/bundle-loader.js');

  /** Runs `bundle` through runBundle; returns what it printed and whether the cache was used. */
  async function run(bundle: string, cache: string, record?: string, args = ['arg1']): Promise<{ out: string; cacheUsed: boolean }> {
    const script = `import { runBundle } from ${JSON.stringify(loader)};
      import { createRequire, Module } from 'node:module';
      const host = { require: createRequire(import.meta.url), Module };
      const r = runBundle(${JSON.stringify(bundle)}, ${JSON.stringify(cache)}, ${record ? `{ recordCacheTo: ${JSON.stringify(record)} }` : '{}'}, host);
      process.on('exit', () => console.log('cacheUsed=' + r.cacheUsed));`;
    const { stdout } = await execFileP(process.execPath, ['--input-type=module', '-e', script, ...args]);
    return { out: stdout, cacheUsed: stdout.includes('cacheUsed=true') };
  }

  function writeBundle(name: string, body: string, wrap = false): string {
    const file = join(dir, name);
    const plain = `#!/usr/bin/env node\n${body}\n`;
    // As .ci/bundle.mjs writes it: in Node's CommonJS wrapper, the shebang a comment.
    const text = wrap ? Module.wrap(plain.replace(/^#!/, '//')) : plain;
    writeFileSync(file, `${text}${BUNDLE_ID_MARK}${createHash('sha256').update(text).digest('hex')}\n`);
    return file;
  }

  it('runs a CommonJS bundle as the main module, with require relative to it', async () => {
    const bundle = writeBundle('a.cjs', "console.log(require('node:path').basename(__filename), typeof module.exports, process.argv.at(-1));");
    const r = await run(bundle, join(dir, 'none.v8cache'));
    expect(r.out).toContain('a.cjs object arg1');
    expect(r.cacheUsed).toBe(false);
  });

  it('runs a bundle already wrapped as .ci/bundle.mjs wraps it, with its cache', async () => {
    expect(Module.wrap('x')).toBe(`${WRAP_START}x\n});`);
    const bundle = writeBundle('w.cjs', "console.log(require('node:path').basename(__filename), typeof exports, __dirname.length > 0, process.argv.at(-1));", true);
    const cache = join(dir, 'w.v8cache');
    expect((await run(bundle, cache, cache)).out).toContain('w.cjs object true arg1');
    const again = await run(bundle, cache);
    expect(again.out).toContain('w.cjs object true arg1');
    expect(again.cacheUsed).toBe(true);
  });

  it('records a cache that the next run uses, and ignores it for another bundle', async () => {
    const body = 'function work(n) { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }\nconsole.log(work(10));';
    const bundle = writeBundle('b.cjs', body);
    const cache = join(dir, 'b.v8cache');
    expect((await run(bundle, cache, cache)).cacheUsed).toBe(false);
    expect(existsSync(cache)).toBe(true);
    const second = await run(bundle, cache);
    expect(second.out).toContain('45');
    expect(second.cacheUsed).toBe(true);
    // Same length, other code: the id differs, so the cache is not even offered to V8.
    const other = writeBundle('b.cjs', body.replace('s += i', 's -= i'));
    const third = await run(other, cache);
    expect(third.out).toContain('-45');
    expect(third.cacheUsed).toBe(false);
  });

  it('the built CLI comes with a code cache this node accepts', async () => {
    const cli = join(inject('appDir'), 'dist/builder/cli');
    expect(readFileSync(join(cli, 'main.js'), 'utf8')).toContain('rbuild.cjs');
    // node -e gives argv [node, ...args]: '_' stands for the script path main.js would have.
    // (--help, not --version: --version exits before runBundle returns.)
    const r = await run(join(cli, 'rbuild.cjs'), join(cli, 'rbuild.v8cache'), undefined, ['_', '--help']);
    expect(r.out).toContain('Usage: rbuild');
    expect(r.cacheUsed).toBe(true);
  });
});
