import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { detectArchive, downloadUrl, extractArchive, isGitUrl, isHttpUrl, urlFileName } from './add-sources.js';

describe('ADD sources', () => {
  it('tells git URLs from http URLs as BuildKit does', () => {
    expect(isGitUrl('git@github.com:o/r.git')).toBe(true);
    expect(isGitUrl('git://127.0.0.1/r.git')).toBe(true);
    expect(isGitUrl('https://example.com/o/r.git#v1')).toBe(true);
    expect(isGitUrl('https://example.com/file.tar.gz')).toBe(false);
    expect(isHttpUrl('https://example.com/file.tar.gz')).toBe(true);
    expect(isHttpUrl('file.txt')).toBe(false);
  });
  it('names downloads after the URL path', () => {
    expect(urlFileName('http://h/a/b/c.txt?x=1')).toBe('c.txt');
    expect(urlFileName('http://h/')).toBe('download');
    expect(urlFileName('http://h/a%20b')).toBe('a b');
  });
  it('detects and unpacks tar, gzip, bzip2 and xz archives by content', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rbuild-add-'));
    mkdirSync(join(dir, 'src/sub'), { recursive: true });
    writeFileSync(join(dir, 'src/sub/f.txt'), 'inside\n');
    execFileSync('tar', ['-C', join(dir, 'src'), '-cf', join(dir, 'a.tar'), 'sub']);
    execFileSync('sh', ['-c', 'gzip -c a.tar > a.bin1 && bzip2 -c a.tar > a.bin2 && xz -c a.tar > a.bin3'], { cwd: dir });
    writeFileSync(join(dir, 'plain.txt'), 'not an archive');
    expect(await detectArchive(join(dir, 'a.tar'))).toBe('tar');
    expect(await detectArchive(join(dir, 'a.bin1'))).toBe('gzip');
    expect(await detectArchive(join(dir, 'a.bin2'))).toBe('bzip2');
    expect(await detectArchive(join(dir, 'a.bin3'))).toBe('xz');
    expect(await detectArchive(join(dir, 'plain.txt'))).toBeUndefined();
    for (const [f, kind] of [['a.tar', 'tar'], ['a.bin1', 'gzip'], ['a.bin2', 'bzip2'], ['a.bin3', 'xz']] as const) {
      const out = join(dir, `out-${f}`);
      await extractArchive(join(dir, f), kind, out);
      expect(readFileSync(join(out, 'sub/f.txt'), 'utf8')).toBe('inside\n');
    }
  });
  it('downloads with checksum verification and Last-Modified as mtime', async () => {
    const body = 'remote content\n';
    const server = createServer((req, res) => {
      if (req.url === '/missing') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const dir = mkdtempSync(join(tmpdir(), 'rbuild-dl-'));
      const sum = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      const d = await downloadUrl(`http://127.0.0.1:${port}/x/file.txt`, dir, { checksum: sum });
      expect(d.name).toBe('file.txt');
      expect(readFileSync(d.path, 'utf8')).toBe(body);
      expect(statSync(d.path).mtime.toISOString()).toBe('2015-10-21T07:28:00.000Z');
      expect(statSync(d.path).mode & 0o777).toBe(0o600);
      await expect(downloadUrl(`http://127.0.0.1:${port}/y/file.txt`, join(dir, 'b'), { checksum: `sha256:${'0'.repeat(64)}` })).rejects.toThrow(/checksum mismatch/);
      await expect(downloadUrl(`http://127.0.0.1:${port}/missing`, join(dir, 'c'))).rejects.toThrow(/404/);
    } finally {
      server.close();
    }
  });
});
