/**
 * Runs the bundled CLI (dist/builder/cli/rbuild.cjs, made by .ci/bundle.mjs) as
 * a classic script with V8's code cache, so the ~800 KB of JavaScript is not
 * parsed and compiled again by every command: the cache holds the bytecode of
 * the functions a typical run executes (.ci/bundle.mjs records it by running a
 * few commands). Node 20 has no compile cache for ES modules, hence CommonJS.
 *
 * The cache is only an accelerator: a missing, foreign (other bundle) or
 * rejected (other Node/V8 version or flags) cache means an ordinary compile.
 */
import { createRequire } from 'node:module';

// Built-ins through require(), not import: an ES import of a built-in makes Node
// build its ES facade, which reads every export, getters included, and node:fs's
// getters load fs/promises and the whole stream stack (~30 internal modules) that
// a cached build never needs.
const require = createRequire(import.meta.url);
const { readFileSync, writeFileSync } = require('node:fs') as typeof import('node:fs');
const { Module } = require('node:module') as typeof import('node:module');
const { dirname } = require('node:path') as typeof import('node:path');
const { Script } = require('node:vm') as typeof import('node:vm');
const { isAscii } = require('node:buffer') as typeof import('node:buffer');

/** The comment .ci/bundle.mjs ends the bundle with: `//# rbuildBundleId=<sha256 of the bundle before it>`. */
export const BUNDLE_ID_MARK = '//# rbuildBundleId=';

/** The bundle's id from its trailing mark; undefined for an unmarked file. */
export function bundleId(source: string): string | undefined {
  const i = source.lastIndexOf(BUNDLE_ID_MARK);
  if (i < 0) return undefined;
  const id = source.slice(i + BUNDLE_ID_MARK.length).trim();
  return /^[0-9a-f]{64}$/.test(id) ? id : undefined;
}

/** Cache file layout: this magic, the bundle id (64 hex digits), a newline, then V8's data. */
const MAGIC = 'rbuild-v8-cache 1 ';

/** V8's cached data from a cache file when it was made for the bundle `id`; else undefined. */
export function cachedDataFor(file: Buffer, id: string): Buffer | undefined {
  const header = `${MAGIC}${id}\n`;
  if (file.length <= header.length || file.toString('latin1', 0, header.length) !== header) return undefined;
  return file.subarray(header.length);
}

/** A cache file's bytes for V8's `data` and the bundle `id`. */
export function cacheFileBytes(data: Buffer, id: string): Buffer {
  return Buffer.concat([Buffer.from(`${MAGIC}${id}\n`, 'latin1'), data]);
}

/** How runBundle went (for tests and the bundle step). */
export interface BundleRun {
  /** The cache was there, made for this bundle, and V8 accepted it. */
  cacheUsed: boolean;
}

/**
 * Compiles `bundleFile` (a CommonJS file) with the code cache in `cacheFile` and runs it as
 * the main module. With `recordCacheTo`, writes a cache for this bundle there when the process
 * exits: the bytecode of everything compiled so far, the cache read included.
 */
export function runBundle(bundleFile: string, cacheFile: string, opts: { recordCacheTo?: string } = {}): BundleRun {
  // The shebang line is not JavaScript; keep the line count for stack traces.
  // .ci/bundle.mjs makes the bundle ASCII: latin1 decoding is then exact and ~3x faster than UTF-8.
  const bytes = readFileSync(bundleFile);
  const source = (isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8')).replace(/^#!.*/, '');
  const id = bundleId(source);
  let cachedData: Buffer | undefined;
  if (id) {
    try {
      cachedData = cachedDataFor(readFileSync(cacheFile), id);
    } catch {
      // no cache: compile as usual
    }
  }
  const script = new Script(Module.wrap(source), { filename: bundleFile, ...(cachedData ? { cachedData } : {}) });
  const dir = dirname(bundleFile);
  const mod: InstanceType<typeof Module> = new Module(bundleFile);
  mod.filename = bundleFile;
  (mod as InstanceType<typeof Module> & { paths: string[] }).paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dir);
  const record = opts.recordCacheTo;
  if (record && id) process.once('exit', () => writeFileSync(record, cacheFileBytes(script.createCachedData(), id)));
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeRequire, module: InstanceType<typeof Module>, filename: string, dirname: string) => void;
  wrapper.call(mod.exports, mod.exports, createRequire(bundleFile), mod, bundleFile, dir);
  return { cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
}
