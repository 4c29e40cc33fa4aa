// `npm run build`, after tsc: bundles the CLI into one CommonJS file,
// dist/builder/cli/rbuild.cjs, records V8's code cache for it
// (dist/builder/cli/rbuild.v8cache), and replaces tsc's
// dist/builder/cli/main.js (the bin; what the tests and the bench run) with a
// small loader (builder/cli/bundle-loader.ts). The rest of dist/ stays tsc's
// output; `tsc` alone gives back the unbundled main.js, which works too.
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
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
  banner: { js: "var __rbuildBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // import() of node: built-ins and undici becomes require(): a vm.Script has no module loader.
  supported: { 'dynamic-import': false },
  plugins: [lazyCommanderChildProcess()],
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  write: false,
});
for (const out of cli.outputFiles) {
  let text = out.text;
  if (out.path === bundleFile) {
    // The id ties a code cache to this exact bundle (V8 itself only checks the length).
    const id = createHash('sha256').update(text).digest('hex');
    text = `${text}//# rbuildBundleId=${id}\n`;
  }
  writeFileSync(out.path, text);
}
writeFileSync(join(root, 'dist/bundle-meta.json'), JSON.stringify(cli.metafile));

// 2. The loader, as dist/builder/cli/main.js (an ES module: package.json says "type": "module").
await build({
  absWorkingDir: root,
  stdin: {
    resolveDir: root,
    sourcefile: 'bundle-main.ts',
    loader: 'ts',
    contents: [
      "import { runBundle } from './builder/cli/bundle-loader.ts';",
      "const here = (f: string): string => decodeURIComponent(new URL(f, import.meta.url).pathname);",
      'const record = process.env.RBUILD_RECORD_CODE_CACHE;',
      "runBundle(here('./rbuild.cjs'), here('./rbuild.v8cache'), record ? { recordCacheTo: record } : {});",
    ].join('\n'),
  },
  outfile: mainFile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  banner: { js: '#!/usr/bin/env node\n// rbuild: loads the bundled CLI (./rbuild.cjs) with its code cache; made by .ci/bundle.mjs.' },
  logLevel: 'warning',
});

// 3. The code cache: run a few commands, each reading the cache so far and writing it back
// with what it compiled on top: --help (every command's options), a build of a metadata-only
// image into an empty store, and the same build again (the fully cached path).
const work = mkdtempSync(join(tmpdir(), 'rbuild-bundle-'));
try {
  const ctx = join(work, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nLABEL org.example.warmup=1\nENV A=1\nWORKDIR /w\n');
  const runs = [['--help'], ['build', '--progress', 'plain', '--root', join(work, 'store'), '-t', 'warmup', ctx]];
  runs.push(runs[1]);
  for (const args of runs) {
    const next = join(work, 'next.v8cache');
    try {
      execFileSync(process.execPath, [mainFile, ...args], { stdio: 'ignore', env: { ...process.env, HOME: work, XDG_DATA_HOME: join(work, 'data'), RBUILD_RECORD_CODE_CACHE: next } });
    } catch (err) {
      console.warn(`bundle: warm-up \`rbuild ${args.join(' ')}\` failed (${err.message.split('\n')[0]}); the code cache covers less`);
    }
    try {
      renameSync(next, cacheFile);
    } catch {
      // nothing recorded
    }
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
