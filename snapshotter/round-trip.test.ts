import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriverName } from './snapshotter.js';
import { roundTrip } from './testing/round-trip.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** What the merged tree must show after mutate() (a few anchors; the full manifests are compared across drivers). */
function checkAnchors(m: string[]): void {
  const has = (prefix: string) => m.some((l) => l.startsWith(prefix));
  expect(has('new/file.txt file 644 0:0 5 ')).toBe(true);
  expect(m.find((l) => l.startsWith('etc/conf '))).toMatch(/^etc\/conf file 644 0:0 10 \S+ nlink=2/);
  expect(has('etc/conf-link file 644 0:0 10 ')).toBe(true);
  expect(has('bin/tool file 4711 0:0 3 ')).toBe(true);
  expect(m.find((l) => l.startsWith('bin/tool '))).toContain('security.capability=0100000200200000');
  expect(has('etc/owned file 644 1234:5678 ')).toBe(true);
  expect(has('etc/remove-me')).toBe(false);
  expect(has('var/cache')).toBe(false);
  expect(has('var dir')).toBe(true);
  expect(has('opt/dir2file file ')).toBe(true);
  expect(has('opt/file2dir dir ')).toBe(true);
  expect(has('opt/file2dir/child file')).toBe(true);
  expect(has('srv/flip/again file')).toBe(true);
  expect(has('srv/flip/y')).toBe(false);
  expect(has('srv/opq/old1')).toBe(false);
  expect(has('srv/opq/new file')).toBe(true);
  expect(has('srv/opq/new2 file')).toBe(true);
  expect(has('new/link symlink 777 0:0 -> ../etc/conf')).toBe(true);
  expect(m.find((l) => l.startsWith('etc/hosts '))).toContain('user.test=76');
  expect(has('usr/lib/hard file 644 0:0 3 ')).toBe(true);
  expect(has('lib symlink 777 0:0 -> usr/lib')).toBe(true);
  expect(has('tmp dir 1777 ')).toBe(true);
  expect(has('new/file.txt file 644 0:0 5 ') && m.some((l) => l.startsWith('new/file.txt') && l.includes('mtime=1600000000'))).toBe(true);
}

const pairs: Array<[DriverName, DriverName]> = [
  ['overlay', 'copy'],
  ['copy', 'overlay'],
  ['fuse-overlayfs', 'overlay'],
];

describe('round trip as root', () => {
  for (const [a, b] of pairs) {
    it(`${a} diff -> ${b} unpack gives the same tree`, async () => {
      const work = fs.mkdtempSync(join(tmpdir(), 'rbuild-rt-'));
      dirs.push(work);
      const r = await roundTrip(work, a, b);
      checkAnchors(r.merged);
      expect(r.committedView).toEqual(r.merged);
      expect(r.otherDriverView).toEqual(r.merged);
      expect(r.warnings).toEqual([]);
    });
  }
});
