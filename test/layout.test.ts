import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Imports go one way: builder -> snapshotter, registry. Nothing imports builder;
// snapshotter and registry do not import each other.
const root = new URL('..', import.meta.url).pathname;
const forbidden: Record<string, string[]> = {
  registry: ['builder', 'snapshotter'],
  snapshotter: ['builder', 'registry'],
  builder: [],
};

function* tsFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

describe('module layout', () => {
  for (const [pkg, banned] of Object.entries(forbidden)) {
    it(`${pkg}/ imports none of ${banned.join(', ') || 'nothing forbidden'}`, () => {
      const bad: string[] = [];
      for (const file of tsFiles(join(root, pkg))) {
        const src = readFileSync(file, 'utf8');
        for (const m of src.matchAll(/from\s+'(\.\.[^']*)'/g)) {
          const target = join(file, '..', m[1]!);
          for (const b of banned) if (target.startsWith(join(root, b) + '/')) bad.push(`${file}: ${m[1]}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }
});
