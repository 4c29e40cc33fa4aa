// The hostile tarballs in testdata/layers (written by GNU tar, see make-hostile.sh):
// nothing appears outside; each is refused with an error naming the entry, or, for an
// absolute symlink (resolved as if root were `/`, as containerd does), written below root.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LayerSecurityError } from './errors.js';
import { extractTar } from './extract.js';

const corpus = new URL('../testdata/layers/', import.meta.url).pathname;
const expected: Record<string, string | { inside: string }> = {
  'gnu-dotdot.tar': '../../evil',
  'gnu-absolute.tar': '/tmp/rbuild-evil',
  'gnu-symlink-escape.tar': { inside: 'tmp/rbuild-evil' }, // esc -> /tmp, then esc/rbuild-evil
  'gnu-absolute-symlink-dotdot.tar': 'esc3/rbuild-evil', // esc3 -> /../../../tmp
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
  for (const [file, outcome] of Object.entries(expected)) {
    it(`${typeof outcome === 'string' ? 'refuses' : 'contains'} ${file}`, async () => {
      const base = fs.mkdtempSync(join(tmpdir(), 'rbuild-hc-'));
      dirs.push(base);
      const root = join(base, 'a/b/root');
      fs.mkdirSync(root, { recursive: true });
      const before = fs.readFileSync('/etc/passwd');
      const err = await extractTar(fs.createReadStream(join(corpus, file)), root).catch((e: unknown) => e);
      if (typeof outcome === 'string') {
        expect(err).toBeInstanceOf(LayerSecurityError);
        expect((err as LayerSecurityError).entry).toBe(outcome);
      } else {
        expect(err).not.toBeInstanceOf(Error);
        expect(fs.readFileSync(join(root, outcome.inside), 'utf8')).toBe('evil\n');
      }
      expect(fs.existsSync('/tmp/rbuild-evil')).toBe(false);
      expect(fs.existsSync(join(base, 'evil'))).toBe(false);
      expect(fs.existsSync(join(base, 'a/evil'))).toBe(false);
      expect(fs.readFileSync('/etc/passwd').equals(before)).toBe(true);
      expect(fs.statSync('/etc/passwd').nlink).toBe(1);
    });
  }
});
