/** Locates the shared BuildKit conformance data used by the frontend's tests. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The conformance directory: $RBUILD_CONFORMANCE_DIR, else `shared/conformance`
 * beside the repository (CI clones next to shared/), else in any ancestor of the
 * repository (worktrees live one level deeper). Throws when none exists, so a
 * missing data set fails the tests instead of skipping them.
 */
export function findConformanceDir(): string {
  const fromEnv = process.env['RBUILD_CONFORMANCE_DIR'];
  if (fromEnv) {
    if (!existsSync(join(fromEnv, 'buildkit'))) throw new Error(`RBUILD_CONFORMANCE_DIR=${fromEnv} has no buildkit/ directory`);
    return resolve(fromEnv);
  }
  const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
  // Compiled copies live in dist/builder/dockerfile: also look above dist/.
  const starts = [repoRoot, join(repoRoot, '..')];
  const tried: string[] = [];
  for (const start of starts) {
    let dir = resolve(start);
    for (;;) {
      const candidate = join(dir, 'shared', 'conformance');
      tried.push(candidate);
      if (existsSync(join(candidate, 'buildkit'))) return candidate;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error(`conformance data not found (set RBUILD_CONFORMANCE_DIR); tried ${tried.slice(0, 4).join(', ')}, ...`);
}
