// The hostile tarballs in testdata/layers (written by GNU tar, see make-hostile.sh):
// each is refused with an error naming the entry, and nothing appears outside.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LayerSecurityError } from './errors.js';
import { extractTar } from './extract.js';

const corpus = new URL('../testdata/layers/', import.meta.url).pathname;
const expected: Record<string, string> = {
  'gnu-dotdot.tar': '../../evil',
  'gnu-absolute.tar': '/tmp/rbuild-evil',
  'gnu-symlink-escape.tar': 'esc/rbuild-evil',
  'gnu-hardlink-escape.tar': 'link',
  'gnu-symlink-then-file.tar': 's/f',
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('hostile layer corpus', () => {
  it('has a case for every tarball', () => {
    expect(fs.readdirSync(corpus).filter((f) => f.endsWith('.tar')).sort()).toEqual(Object.keys(expected).sort());
  });
  for (const [file, entry] of Object.entries(expected)) {
    it(`refuses ${file}`, async () => {
      const base = fs.mkdtempSync(join(tmpdir(), 'rbuild-hc-'));
      dirs.push(base);
      const root = join(base, 'a/b/root');
      fs.mkdirSync(root, { recursive: true });
      const before = fs.readFileSync('/etc/passwd');
      const err = await extractTar(fs.createReadStream(join(corpus, file)), root).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LayerSecurityError);
      expect((err as LayerSecurityError).entry).toBe(entry);
      expect(fs.existsSync('/tmp/rbuild-evil')).toBe(false);
      expect(fs.existsSync(join(base, 'evil'))).toBe(false);
      expect(fs.existsSync(join(base, 'a/evil'))).toBe(false);
      expect(fs.readFileSync('/etc/passwd').equals(before)).toBe(true);
      expect(fs.statSync('/etc/passwd').nlink).toBe(1);
    });
  }
});
