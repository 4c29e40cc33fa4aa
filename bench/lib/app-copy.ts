/**
 * A world-readable copy of the built app for the bench user (the checkout may
 * be unreadable to it). Same as test/support/unprivileged.ts copyAppForTestUsers,
 * but from a given checkout: that one finds the checkout relative to its own
 * source file, which is wrong once compiled into dist/.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Copies package.json, dist/, node_modules/ and the native addon of `checkout`; returns the copy's directory. */
export function copyAppFrom(checkout: string): string {
  const main = join(checkout, 'dist/builder/cli/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'rbuild-bench-app-'));
  for (const part of ['package.json', 'dist', 'node_modules', 'native/build/Release']) {
    const src = join(checkout, part);
    if (existsSync(src)) cpSync(src, join(dir, part), { recursive: true, verbatimSymlinks: true });
  }
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  return dir;
}
