import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { Header } from 'tar';
import { encodeTarHeader, TarFormatError, type RawTarHeader, type TarEntryHeader } from './tar-header.js';
import { decodeHeaderBlock, readTar, TarParser, type TarHandler } from './tar-reader.js';
import { makeTar } from './testing/make-tar.js';

const dir = mkdtempSync(join(tmpdir(), 'rbuild-tarr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cap = Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const sample = makeTar([
  { path: 'etc', type: 'dir', mode: 0o755, mtime: 1700000000 },
  { path: 'etc/passwd', body: 'root:x:0:0\n', mtime: 1700000001 },
  { path: 'bin/ping', body: 'ELF', mode: 0o4755, xattrs: { 'security.capability': cap } },
  { path: 'big-ids', body: '', uid: 3_000_000, gid: 2_500_000 },
  { path: `${'d'.repeat(120)}/${'n'.repeat(150)}`, body: 'long' },
  { path: 'link', type: 'symlink', linkname: `/${'l'.repeat(200)}` },
  { path: 'hard', type: 'hardlink', linkname: 'etc/passwd' },
  { path: 'big', body: Buffer.alloc(70_000, 7) },
  { path: 'ünïcode', body: 'u' },
]);

/** Entries as the push parser reports them, with bodies joined and how they arrived. */
function parse(chunks: Buffer[]): Array<TarEntryHeader & { body: string; whole: boolean; unsupported?: string }> {
  const out: Array<TarEntryHeader & { body: string; whole: boolean; unsupported?: string }> = [];
  let parts: Buffer[] = [];
  const h: TarHandler = {
    entry(header, unsupported, body) {
      const e = { ...header, body: body === undefined ? '' : body.toString('latin1'), whole: body !== undefined };
      if (unsupported !== undefined) Object.assign(e, { unsupported });
      out.push(e);
      parts = [];
    },
    data(c) {
      parts.push(Buffer.from(c));
    },
    end() {
      out[out.length - 1]!.body = Buffer.concat(parts).toString('latin1');
    },
  };
  const p = new TarParser(h);
  for (const c of chunks) p.feed(c);
  p.end();
  return out;
}

async function pulled(tar: Buffer): Promise<Array<TarEntryHeader & { body: string }>> {
  const got = [];
  for await (const e of readTar(Readable.from([tar]))) {
    const chunks: Buffer[] = [];
    for await (const c of e.body()) chunks.push(c);
    got.push({ ...e.header, body: Buffer.concat(chunks).toString('latin1') });
  }
  return got;
}

const strip = <T extends { whole?: boolean }>(e: T): Omit<T, 'whole'> => {
  const { whole: _, ...rest } = e;
  return rest;
};

describe('TarParser', () => {
  it('reports what readTar reads, whatever the chunking', async () => {
    const want = await pulled(sample);
    expect(want.map((e) => e.path)).toContain('big');
    expect(parse([sample]).map(strip)).toEqual(want);
    for (const size of [1, 7, 511, 512, 513, 4096, 65536]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < sample.length; i += size) chunks.push(sample.subarray(i, i + size));
      expect(parse(chunks).map(strip)).toEqual(want);
    }
  });

  it('hands a body over whole when it is in the chunk, in pieces otherwise', () => {
    const whole = parse([sample]);
    expect(whole.every((e) => e.whole)).toBe(true);
    const split = parse([sample.subarray(0, 3000), sample.subarray(3000)]);
    expect(split.find((e) => e.path === 'etc/passwd')!.whole).toBe(true);
    const big = parse([sample.subarray(0, sample.length - 40_000), sample.subarray(sample.length - 40_000)]).find((e) => e.path === 'big')!;
    expect(big.whole).toBe(false);
    expect(big.body).toBe(Buffer.alloc(70_000, 7).toString('latin1'));
  });

  it('ignores what follows the end marker, accepts a missing one, refuses a cut entry', () => {
    expect(parse([sample, Buffer.from('trailing garbage')]).length).toBe(9);
    const noEnd = sample.subarray(0, sample.length - 1024);
    expect(parse([noEnd]).length).toBe(9);
    expect(() => parse([noEnd.subarray(0, noEnd.length - 100)])).toThrow(TarFormatError);
    expect(() => parse([noEnd.subarray(0, noEnd.length - 600)])).toThrow(TarFormatError);
  });

  it('skips the bodies of unsupported types and of non-files', () => {
    const sparse = Buffer.from(encodeTarHeader({ path: 's', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5, mtime: 1 }));
    sparse[156] = 'S'.charCodeAt(0);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : sparse[i]!;
    sparse.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const tar = Buffer.concat([sparse, Buffer.alloc(512, 1), makeTar([{ path: 'after', body: 'a' }])]);
    const got = parse([tar]);
    expect(got.map((e) => [e.path, e.unsupported, e.body])).toEqual([
      ['s', 'S', ''],
      ['after', undefined, 'a'],
    ]);
  });

  it('decodes header blocks as node-tar\'s Header does (GNU tar output in four formats, base-256 numbers)', () => {
    const src = join(dir, 'src');
    execFileSync('mkdir', ['-p', join(src, 'x'.repeat(90), 'y'.repeat(90))]);
    writeFileSync(join(src, 'x'.repeat(90), 'file'), 'hello');
    execFileSync('ln', ['-sf', 'file', join(src, 'x'.repeat(90), 'link')]);
    const owner = { uname: userInfo().username, gname: execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim() };
    let headers = 0;
    for (const format of ['posix', 'gnu', 'oldgnu', 'ustar']) {
      const f = join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-cf', f, '-C', src, '.'], { stdio: 'ignore' });
      const b = readFileSync(f);
      for (let off = 0; off + 512 <= b.length; off += 512) {
        const block = b.subarray(off, off + 512);
        const ref = new Header(block);
        // Data and end blocks: node-tar finds no valid checksum; decodeHeaderBlock refuses them.
        if (!ref.cksumValid) {
          expect(() => decodeHeaderBlock(block)).toThrow(TarFormatError);
          continue;
        }
        headers++;
        // node-tar reads the owner names only with the POSIX magic ("ustar\0" 00); GNU's "ustar  " has them too.
        const gnu = block.toString('latin1', 257, 265) === 'ustar  \0';
        expect(decodeHeaderBlock(block)).toEqual(fromNodeTar(ref, gnu ? owner : undefined));
      }
    }
    expect(headers).toBeGreaterThan(16);
    const big = encodeTarHeader({ path: 'b', type: 'file', mode: 0o644, uid: 0o77777777 + 5, gid: 1, size: 0, mtime: 2 ** 40 });
    const main = big.subarray(big.length - 512);
    expect(decodeHeaderBlock(main)).toEqual(fromNodeTar(new Header(main), undefined));
    expect(decodeHeaderBlock(main).uid).toBe(0o77777777 + 5);
  });
});

/** node-tar's decoding of a header block in decodeHeaderBlock's shape (the oracle of the test above). */
function fromNodeTar(h: Header, owner: { uname: string; gname: string } | undefined): RawTarHeader {
  return {
    typeflag: h.typeKey,
    name: Buffer.from(h.path ?? ''),
    linkname: Buffer.from(h.linkpath ?? ''),
    mode: h.mode!,
    uid: h.uid!,
    gid: h.gid!,
    size: h.size!,
    mtime: h.mtime!.getTime() / 1000,
    uname: owner?.uname ?? h.uname ?? '',
    gname: owner?.gname ?? h.gname ?? '',
    devmajor: h.devmaj,
    devminor: h.devmin,
  };
}
