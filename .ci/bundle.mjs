// `npm run build`, after tsc: bundles the CLI into one CommonJS file,
// dist/builder/cli/rbuild.cjs, records V8's code cache for it
// (dist/builder/cli/rbuild.v8cache), and replaces tsc's
// dist/builder/cli/main.js (the bin; what the tests and the bench run) with a
// small CommonJS loader (builder/cli/bundle-loader.ts), with a package.json
// in dist/builder/cli that makes that directory CommonJS. The rest of dist/
// stays tsc's output. (`tsc` alone gives back the unbundled ES-module main.js;
// to run it, remove dist/builder/cli/package.json.)
//
// Why: every rbuild command pays Node's start-up. Loading ~70 ES modules one by
// one (each an async read, a resolve and a compile) plus the node: built-ins they
// import cost more than a fully cached rebuild itself. One file is one read;
// CommonJS lets esbuild keep `await import()` lazy, turns the built-in imports of
// lazily loaded modules into lazy require() calls (an ES-module bundle hoists
// every built-in import of every command to the top), and, as a classic script,
// can use V8's code cache, which Node 20 does not offer for ES modules.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createRequire, isBuiltin, Module } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist/builder/cli');
const bundleFile = join(outDir, 'rbuild.cjs');
const cacheFile = join(outDir, 'rbuild.v8cache');
const mainFile = join(outDir, 'main.js');

for (const f of [bundleFile, `${bundleFile}.map`, cacheFile]) rmSync(f, { force: true });

// 1. The CLI.
const cli = await build({
  absWorkingDir: root,
  entryPoints: ['builder/cli/main.ts'],
  outfile: bundleFile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // undici is loaded with createRequire from node_modules (registry/remote/undici-core.ts
  // takes only its Agent and request); its wasm parser stays where undici expects it.
  external: ['undici'],
  // import.meta does not exist in CommonJS: the modules that find the package root (the
  // helper, the native addon) get the bundle's own URL and walk up from there as before.
  define: { 'import.meta.url': '__rbuildBundleUrl' },
  // Spelled out for the usual path (what pathToFileURL gives for it): its first call costs ~1 ms.
  banner: { js: "var __rbuildBundleUrl = /^[\\w./-]+$/.test(__filename) ? 'file://' + __filename : require('node:url').pathToFileURL(__filename).href;" },
  // import() of node: built-ins and undici becomes require(): a vm.Script has no module loader.
  supported: { 'dynamic-import': false },
  plugins: [lazyCommanderChildProcess(), lazyBuiltins()],
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  write: false,
});
for (const out of cli.outputFiles) {
  let text = out.text;
  if (out.path === bundleFile) {
    // ASCII only, so that the loader can read it as latin1 (a third of the time of UTF-8
    // decoding): esbuild escapes non-ASCII text in strings but not in every regular expression.
    // \uXXXX means the same there (and in strings, identifiers and comments).
    text = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    // Wrapped as Node wraps a CommonJS module (the shebang made a comment: it cannot stand inside the
    // function), so that the loader compiles the file's text as it is, without building a ~1 MB copy.
    text = Module.wrap(text.replace(/^#!/, '//'));
    // The id ties a code cache to this exact bundle (V8 itself only checks the length).
    const id = createHash('sha256').update(text).digest('hex');
    text = `${text}//# rbuildBundleId=${id}\n`;
  }
  writeFileSync(out.path, text);
}
writeFileSync(join(root, 'dist/bundle-meta.json'), JSON.stringify(cli.metafile));

// 2. The loader, as dist/builder/cli/main.js, a CommonJS script: an ES-module entry makes Node
// start its ES module loader (~20 internal modules, fs/promises and readline among them, and an
// async read of the entry) before the first line runs, ~5-10 ms of a ~80 ms cached rebuild.
// package.json says "type": "module", so dist/builder/cli gets a package.json of its own that
// says "commonjs"; tsc's ES-module outputs in that directory are then unusable, and nothing loads
// them: the CLI is the bundle. (The loader module is written again as CommonJS for its test.)
const loaderOptions = {
  absWorkingDir: root,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
};
writeFileSync(join(outDir, 'package.json'), '{ "type": "commonjs" }\n');
await build({
  ...loaderOptions,
  stdin: {
    resolveDir: root,
    sourcefile: 'bundle-main.ts',
    loader: 'ts',
    contents: [
      "import { runBundle } from './builder/cli/bundle-loader.ts';",
      "const here = (f: string): string => `${__dirname}/${f}`;",
      'const record = process.env.RBUILD_RECORD_CODE_CACHE;',
      // Its own require and Module class: requiring node:module would load Node's ES module loader.
      "runBundle(here('rbuild.cjs'), here('rbuild.v8cache'), record ? { recordCacheTo: record } : {}, { require, Module: module.constructor as never });",
    ].join('\n'),
  },
  outfile: mainFile,
  banner: { js: "#!/usr/bin/env node\n// rbuild: loads the bundled CLI (./rbuild.cjs) with its code cache; made by .ci/bundle.mjs." },
});
await build({
  ...loaderOptions,
  entryPoints: ['builder/cli/bundle-loader.ts'],
  outfile: join(outDir, 'bundle-loader.js'),
});

// 3. The code cache, recorded from a fully cached rebuild only: what a no-op build runs is what
// must start fast, and V8 spends time on every function in the cache when it loads it (a cache
// that also held --help and a cold build's layer writing was 50% bigger and ~3 ms slower to
// load). Other paths compile what they run as they run it, as without a cache. The warm-up
// builds are made without a cache; the last one, a rebuild of the same Dockerfile (a base image
// from the store, ENV, ARG, USER, WORKDIR, COPY of a file and a directory, a .dockerignore),
// records it.
const work = mkdtempSync(join(tmpdir(), 'rbuild-bundle-'));
try {
  const base = join(work, 'base');
  const ctx = join(work, 'ctx');
  mkdirSync(base);
  mkdirSync(join(ctx, 'conf'), { recursive: true });
  writeFileSync(join(base, 'Dockerfile'), 'FROM scratch\nCOPY a.txt /etc/a.txt\nLABEL org.example.warmup=1\nCMD ["/bin/sh"]\n');
  writeFileSync(join(base, 'a.txt'), 'a\n');
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM warmup-base\nARG V=1\nENV A=$V B=2\nWORKDIR /w\nCOPY conf/ /w/conf/\nCOPY b.txt /w/b.txt\nUSER 1000\nCMD ["cat", "/w/b.txt"]\n');
  writeFileSync(join(ctx, 'b.txt'), 'b\n');
  writeFileSync(join(ctx, 'conf', 'c.conf'), 'c\n');
  writeFileSync(join(ctx, '.dockerignore'), '*.tmp\n');
  const store = join(work, 'store');
  const runs = [
    ['build', '--root', store, '-t', 'warmup-base', base],
    ['build', '--root', store, '-t', 'warmup', ctx],
    ['build', '--root', store, '-t', 'warmup', ctx],
  ];
  for (const [i, args] of runs.entries()) {
    const next = join(work, 'next.v8cache');
    const record = i === runs.length - 1 ? { RBUILD_RECORD_CODE_CACHE: next } : {};
    try {
      execFileSync(process.execPath, [mainFile, ...args], { stdio: 'ignore', env: { ...process.env, HOME: work, XDG_DATA_HOME: join(work, 'data'), ...record } });
    } catch (err) {
      console.warn(`bundle: warm-up \`rbuild ${args.join(' ')}\` failed (${err.message.split('\n')[0]}); the code cache covers less`);
    }
  }
  try {
    renameSync(join(work, 'next.v8cache'), cacheFile);
  } catch {
    // nothing recorded: every run compiles as it goes
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** commander requires node:child_process at load for executable subcommands, which rbuild does not use: load it on first use. */
function lazyCommanderChildProcess() {
  return {
    name: 'lazy-commander-child-process',
    setup(b) {
      b.onLoad({ filter: /commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
        const { readFile } = await import('node:fs/promises');
        const text = await readFile(args.path, 'utf8');
        const eager = "const childProcess = require('node:child_process');";
        if (!text.includes(eager)) return undefined; // a commander that changed: bundle it as it is
        const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
        return { contents: text.replace(eager, lazy), loader: 'js' };
      });
    },
  };
}

/** Whether every import of built-in `bare` in args.importer (rbuild's own TypeScript, not node_modules) is a static named import. */
function onlyNamedImports(args, bare) {
  if (args.kind !== 'import-statement' || !/\.ts$/.test(args.importer) || /node_modules/.test(args.importer)) return false;
  const text = readFileSync(args.importer, 'utf8');
  const spec = `['"](?:node:)?${bare}['"]`;
  const all = text.match(new RegExp(`(?:import|export)[^'";]*?from\\s*${spec}|import\\s*\\(\\s*${spec}|require\\s*\\(\\s*${spec}`, 'g')) ?? [];
  return all.length > 0 && all.every((m) => /^import\s*(type\s*)?\{[^}]*\}\s*from/.test(m));
}

/**
 * esbuild turns `import { spawn } from 'node:child_process'` into a require() that runs when the
 * importing module is initialised, and initialising the build command initialises most of the code
 * base: a fully cached build paid ~10 ms for child_process, net, stream, zlib, assert and friends it
 * never calls. Here each such built-in is a small module whose exports are getters that require the
 * real one on first access. The export names are read from this Node at bundle time (the bundle is
 * made by the Node that runs it); a module that uses a built-in at its top level (`extends Transform`)
 * still loads it then, as before.
 */
function lazyBuiltins() {
  // Built-ins a bare `node` has loaded at start-up already: requiring them costs nothing.
  const STARTUP_BUILTINS = new Set(['fs', 'path', 'url', 'events', 'buffer', 'util', 'process', 'module', 'vm', 'timers', 'async_hooks', 'querystring']);
  const NS = 'rbuild-lazy-builtin';
  return {
    name: 'lazy-builtins',
    setup(b) {
      b.onResolve({ filter: /^[a-z_/]+$|^node:/ }, (args) => {
        const bare = args.path.replace(/^node:/, '');
        if (!isBuiltin(args.path) || STARTUP_BUILTINS.has(bare)) return undefined;
        // The lazy module's own require() of the real built-in.
        if (args.namespace === NS) return { path: `node:${bare}`, external: true };
        // A built-in that IS a function (assert, stream) cannot be stood in for by an object of getters
        // where it is used as a whole: esbuild's ES-module interop makes `import assert from 'assert'`
        // the exports object itself. Only named imports (`import { Readable } from 'node:stream'`)
        // in rbuild's own code, checked in the importing file, get the lazy module then.
        if (typeof createRequire(import.meta.url)(`node:${bare}`) === 'function' && !onlyNamedImports(args, bare)) return undefined;
        return { path: bare, namespace: NS };
      });
      b.onLoad({ filter: /.*/, namespace: NS }, (args) => {
        const real = createRequire(import.meta.url)(`node:${args.path}`);
        const names = Object.keys(real).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k));
        const spec = JSON.stringify(`node:${args.path}`);
        // The getters sit on the exports' prototype, not on the exports: esbuild's __toESM, run once
        // per importing module, copies own properties one by one (a getter closure each: ~30 modules
        // import fs/promises, ~20 crypto), while it gives its copy the same prototype, through which
        // the names still resolve.
        const lines = [
          'let m;',
          'const proto = {};',
          `for (const k of ${JSON.stringify(names)}) Object.defineProperty(proto, k, { get: () => (m ??= require(${spec}))[k] });`,
          // `import os from 'node:os'`: the default export is the module itself (loaded on first use too).
          `Object.defineProperty(proto, 'default', { get: () => (m ??= require(${spec})) });`,
          'module.exports = Object.create(proto);',
        ];
        return { contents: lines.join('\n'), loader: 'js', resolveDir: root };
      });
    },
  };
}
