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
import type { Module as NodeModule } from 'node:module';

/**
 * What the loader takes from Node's CommonJS loader of its caller (main.js passes its own `require`
 * and `module.constructor`). Not imports: an ES import of a built-in makes Node build its ES
 * facade (node:fs's getters load fs/promises and the stream stack), and node:module itself loads
 * Node's ES module loader (~0.6 ms); the built-ins used here are loaded at start-up already.
 */
export interface LoaderHost {
  require: NodeRequire;
  Module: typeof NodeModule;
}

/** The text .ci/bundle.mjs wraps the bundle in (Node's CommonJS wrapper), so that it needs no wrapping (a copy of ~1 MB) here. */
export const WRAP_START = '(function (exports, require, module, __filename, __dirname) { ';

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
 * Compiles `bundleFile` (a CommonJS file, wrapped as .ci/bundle.mjs writes it, or not) with the
 * code cache in `cacheFile` and runs it as the main module. With `recordCacheTo`, writes a cache for this bundle there when the process
 * exits: the bytecode of everything compiled so far, the cache read included.
 */
export function runBundle(bundleFile: string, cacheFile: string, opts: { recordCacheTo?: string }, host: LoaderHost): BundleRun {
  const { readFileSync, writeFileSync } = host.require('node:fs') as typeof import('node:fs');
  const { Script } = host.require('node:vm') as typeof import('node:vm');
  const { isAscii } = host.require('node:buffer') as typeof import('node:buffer');
  const { Module } = host;
  // .ci/bundle.mjs makes the bundle ASCII: latin1 decoding is then exact and ~3x faster than UTF-8.
  const bytes = readFileSync(bundleFile);
  let source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const id = bundleId(source);
  // A bundle not wrapped by .ci/bundle.mjs: its shebang line is not JavaScript (the line count stays for stack traces).
  if (!source.startsWith(WRAP_START)) source = Module.wrap(source.replace(/^#!.*/, ''));
  let cachedData: Buffer | undefined;
  if (id) {
    try {
      cachedData = cachedDataFor(readFileSync(cacheFile), id);
    } catch {
      // no cache: compile as usual
    }
  }
  const script = new Script(source, { filename: bundleFile, ...(cachedData ? { cachedData } : {}) });
  const dir = bundleFile.slice(0, bundleFile.lastIndexOf('/')) || '/';
  const mod: InstanceType<typeof Module> = new Module(bundleFile);
  mod.filename = bundleFile;
  (mod as InstanceType<typeof Module> & { paths: string[] }).paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dir);
  const record = opts.recordCacheTo;
  if (record && id) process.once('exit', () => writeFileSync(record, cacheFileBytes(script.createCachedData(), id)));
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeRequire, module: InstanceType<typeof Module>, filename: string, dirname: string) => void;
  wrapper.call(mod.exports, mod.exports, Module.createRequire(bundleFile), mod, bundleFile, dir);
  return { cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
}
