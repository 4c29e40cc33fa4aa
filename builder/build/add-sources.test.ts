import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { detectArchive, downloadUrl, Downloads, extractArchive, isGitUrl, isHttpUrl, urlFileName } from './add-sources.js';

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
  it('Downloads fetches each URL once per build, checks --checksum per use, and cleans up', async () => {
    const body = 'once\n';
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(req.url === '/missing' ? 404 : 200).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const tmp = mkdtempSync(join(tmpdir(), 'rbuild-dls-'));
      const dl = new Downloads(tmp);
      const sum = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      // The cache key and the step ask at once, then another step with --checksum.
      const [a, b] = await Promise.all([dl.get(`${base}/f.txt`), dl.get(`${base}/f.txt`)]);
      const c = await dl.get(`${base}/f.txt`, sum);
      expect(a).toBe(b);
      expect(c.path).toBe(a.path);
      expect(readFileSync(a.path, 'utf8')).toBe(body);
      expect(hits).toEqual(['/f.txt']);
      await expect(dl.get(`${base}/f.txt`, `sha256:${'0'.repeat(64)}`)).rejects.toThrow(/checksum mismatch/);
      // A failed download is not remembered.
      await expect(dl.get(`${base}/missing`)).rejects.toThrow(/404/);
      await expect(dl.get(`${base}/missing`)).rejects.toThrow(/404/);
      expect(hits).toEqual(['/f.txt', '/missing', '/missing']);
      await dl.close();
      expect(readdirSync(tmp)).toEqual([]);
      // Handed over to the build's re-run in its namespace: the re-run does not fetch again.
      const outer = new Downloads(tmp);
      const got = await outer.get(`${base}/f.txt`);
      await outer.close(true);
      try {
        const inner = new Downloads(tmp);
        expect(await inner.get(`${base}/f.txt`, sum)).toEqual(got);
        expect(hits.filter((h) => h === '/f.txt')).toHaveLength(2);
        await inner.close();
        expect(readdirSync(tmp)).toEqual([]);
      } finally {
        delete process.env.RBUILD_ADD_DOWNLOADS;
      }
    } finally {
      server.close();
    }
  });
});
