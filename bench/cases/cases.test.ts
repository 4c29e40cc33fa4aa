import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { base64Text, pseudoRandom } from './case.js';
import { CASES, selectCases } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'bench-cases-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A digest of a directory tree: paths and contents. */
function treeDigest(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      h.update(relative(dir, p));
      if (statSync(p).isDirectory()) walk(p);
      else h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

describe('bench cases', () => {
  it('are the six of the issue', () => {
    expect(CASES.map((c) => c.name)).toEqual(['tiny', 'multistage', 'manyfiles', 'bigfile', 'apt', 'largebase']);
    expect(selectCases(['apt']).map((c) => c.name)).toEqual(['apt']);
    expect(() => selectCases(['nope'])).toThrow(/unknown case/);
  });

  for (const c of CASES.filter((x) => x.name !== 'bigfile')) {
    it(`${c.name}: writes the same context twice, names its base in the registry, and changes one file`, async () => {
      const a = join(root, `${c.name}-a`);
      const b = join(root, `${c.name}-b`);
      await c.write(a, { registry: '127.0.0.1:5999', quick: true });
      await c.write(b, { registry: '127.0.0.1:5999', quick: true });
      const before = treeDigest(a);
      expect(treeDigest(b)).toBe(before);
      expect(readFileSync(join(a, 'Dockerfile'), 'utf8')).toMatch(/^FROM 127\.0\.0\.1:5999\/bench\/\w+:latest/m);
      await c.change(a, 1);
      const once = treeDigest(a);
      expect(once).not.toBe(before);
      await c.change(a, 2);
      expect(treeDigest(a)).not.toBe(once);
    });
  }

  it('makes the same pseudo-random and text streams on every run', () => {
    const r1 = pseudoRandom('s')(4096);
    expect(pseudoRandom('s')(4096)).toEqual(r1);
    expect(pseudoRandom('t')(4096)).not.toEqual(r1);
    const text = base64Text('s')(1000).toString('latin1');
    expect(text).toMatch(/^([A-Za-z0-9+/]{76}\n)+[A-Za-z0-9+/]*$/);
    expect(base64Text('s')(1000).toString('latin1')).toBe(text);
  });
});
