import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stderrOut } from './stderr-out.js';

describe('stderrOut', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rbuild-stderr-out-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a file descriptor of a file directly, in order, strings and bytes alike', () => {
    const file = join(dir, 'log');
    const fd = openSync(file, 'w');
    try {
      const out = stderrOut(fd);
      expect(out).not.toBe(process.stderr);
      expect(out.isTTY).toBe(false);
      out.write('#1 FROM busybox\n');
      out.write(Buffer.from('émoji ✓\n'));
      expect(readFileSync(file, 'utf8')).toBe('#1 FROM busybox\némoji ✓\n');
    } finally {
      closeSync(fd);
    }
  });

  it('leaves character devices (terminals, /dev/null) to process.stderr', () => {
    const fd = openSync('/dev/null', 'w');
    try {
      expect(stderrOut(fd)).toBe(process.stderr);
    } finally {
      closeSync(fd);
    }
  });
});
