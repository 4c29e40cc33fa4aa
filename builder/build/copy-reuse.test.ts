import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changesFromUpper } from '../../snapshotter/changes.js';
import { layerTar } from '../../snapshotter/layer-tar.js';
import type { AddInstruction, CopyInstruction } from '../dockerfile/instruction-types.js';
import { BuildContext } from './context.js';
import { copyInto } from './copy.js';
import { CopyReuse, openCopyReuse, reusableStep, sameResult, SiblingRecords, siblingKey } from './copy-reuse.js';

const loc = { file: 'Dockerfile', line: 1, column: 1, endLine: 1 } as unknown as CopyInstruction['loc'];
const copy = (over: Partial<CopyInstruction> = {}): CopyInstruction => ({
  kind: 'COPY', loc, original: 'COPY files/ /files/', sources: ['files/'], contents: [], dest: '/files/', link: false, exclude: [], parents: false, ...over,
});
const add = (over: Partial<AddInstruction> = {}): AddInstruction => ({
  kind: 'ADD', loc, original: 'ADD files/ /files/', sources: ['files/'], contents: [], dest: '/files/', link: false, exclude: [], keepGitDir: false, ...over,
});

/** A context of `dirs` x `per` small files under files/, with fixed mtimes. */
function context(dirs = 3, per = 4): string {
  const ctx = mkdtempSync(join(tmpdir(), 'reuse-ctx-'));
  for (let d = 0; d < dirs; d++) {
    mkdirSync(join(ctx, `files/d${d}`), { recursive: true });
    for (let f = 0; f < per; f++) {
      const p = join(ctx, `files/d${d}/f${f}.txt`);
      writeFileSync(p, `file ${d}/${f}\n`);
      utimesSync(p, 1_700_000_000.123, 1_700_000_000 + d * 10 + f + 0.4567);
    }
    utimesSync(join(ctx, `files/d${d}`), 1_700_000_000, 1_700_000_100);
  }
  utimesSync(join(ctx, 'files'), 1_700_000_000, 1_700_000_200);
  return ctx;
}

/** A full copy of files/ into a fresh upper, as COPY does without reuse. */
async function copyTo(ctx: string): Promise<string> {
  const bc = new BuildContext(ctx);
  const root = mkdtempSync(join(tmpdir(), 'reuse-upper-'));
  await copyInto(bc, await bc.resolve(['files/']), { root, dest: '/files/', workdir: '/' });
  return root;
}

async function tarOf(upper: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of layerTar(changesFromUpper(upper))) parts.push(b);
  return Buffer.concat(parts);
}

/** A first run recorded, as the executor does: returns its upper and the reuse of a second run linking from it. */
async function firstRun(ctx: string): Promise<{ upper: string; next: (hashes: BuildContext) => CopyReuse }> {
  const bc = new BuildContext(ctx);
  const sources = await bc.resolve(['files/']);
  await bc.checksum(sources);
  const upper = mkdtempSync(join(tmpdir(), 'reuse-prev-'));
  const r = new CopyReuse(bc);
  await copyInto(bc, sources, { root: upper, dest: '/files/', workdir: '/', reuse: r.target(upper, true) });
  const rec = r.record(`sha256:${'0'.repeat(64)}`);
  return { upper, next: (hashes) => new CopyReuse(hashes, { dir: upper, files: new Map(Object.entries(rec.files)) }) };
}

async function secondRun(ctx: string, next: (hashes: BuildContext) => CopyReuse, opts: { mayLink?: boolean; chmod?: (m: number) => number } = {}) {
  const bc = new BuildContext(ctx);
  const sources = await bc.resolve(['files/']);
  await bc.checksum(sources);
  const upper = mkdtempSync(join(tmpdir(), 'reuse-next-'));
  const r = next(bc);
  await copyInto(bc, sources, { root: upper, dest: '/files/', workdir: '/', reuse: r.target(upper, opts.mayLink ?? true), ...(opts.chmod ? { chmod: opts.chmod } : {}) });
  return { upper, counts: r.counts, record: r.record(`sha256:${'1'.repeat(64)}`) };
}

describe('sibling identity', () => {
  it('is the step on its parent without the content of its sources', () => {
    const k = siblingKey('sha256:p', copy());
    expect(siblingKey('sha256:p', copy({ original: 'COPY  files/  /files/' }))).toBe(k);
    expect(siblingKey('sha256:q', copy())).not.toBe(k);
    expect(siblingKey('sha256:p', copy({ dest: '/other/' }))).not.toBe(k);
    expect(siblingKey('sha256:p', copy({ chown: '1:1' }))).not.toBe(k);
    expect(siblingKey('sha256:p', copy({ chmod: '600' }))).not.toBe(k);
    expect(siblingKey('sha256:p', copy({ parents: true }))).not.toBe(k);
    expect(siblingKey('sha256:p', add())).not.toBe(k);
  });
  it('exists only for copies from the context', () => {
    expect(reusableStep(copy())).toBe(true);
    expect(reusableStep(add())).toBe(true);
    expect(reusableStep(copy({ from: 'build' }))).toBe(false);
    expect(reusableStep(copy({ link: true }))).toBe(false);
    expect(reusableStep(copy({ sources: [], contents: [{ path: 'EOF', data: 'x', expand: false }] }))).toBe(false);
    expect(reusableStep(add({ sources: ['https://example.com/a.tgz'] }))).toBe(false);
    expect(reusableStep(add({ sources: ['https://github.com/moby/moby.git'] }))).toBe(false);
  });
  it('records are stored atomically and a torn one is no record', () => {
    const root = mkdtempSync(join(tmpdir(), 'reuse-store-'));
    const s = new SiblingRecords(root);
    expect(s.get('sha256:ab')).toBeUndefined();
    s.put('sha256:ab', { chain: `sha256:${'2'.repeat(64)}`, files: { 'files/a': 'h' } });
    expect(s.get('sha256:ab')).toEqual({ chain: `sha256:${'2'.repeat(64)}`, files: { 'files/a': 'h' } });
    writeFileSync(join(root, 'cache/siblings/cd.json'), '{"chain":');
    expect(s.get('sha256:cd')).toBeUndefined();
  });
  it('openCopyReuse finds the previous run through the record and the snapshot directory', async () => {
    const root = mkdtempSync(join(tmpdir(), 'reuse-open-'));
    const hashes = { knownHash: () => 'h' };
    const chain = `sha256:${'3'.repeat(64)}` as const;
    const first = await openCopyReuse(copy(), { root, parentKey: 'sha256:p', hashes, lookup: true, layerDirs: async () => ({ chainLayers: () => ['/nowhere'] }) });
    expect((first!.reuse as unknown as { previous?: unknown }).previous).toBeUndefined();
    first!.save(chain);
    let asked = '';
    const second = await openCopyReuse(copy(), { root, parentKey: 'sha256:p', hashes, lookup: true, layerDirs: async () => ({ chainLayers: (c) => ((asked = c), ['/layer/fs', '/below']) }) });
    expect(asked).toBe(chain);
    expect((second!.reuse as unknown as { previous?: { dir: string } }).previous?.dir).toBe('/layer/fs');
    // --no-cache: recorded, never looked up; a pruned snapshot: nothing to reuse.
    const noCache = await openCopyReuse(copy(), { root, parentKey: 'sha256:p', hashes, lookup: false, layerDirs: async () => ({ chainLayers: () => ['/layer/fs'] }) });
    expect((noCache!.reuse as unknown as { previous?: unknown }).previous).toBeUndefined();
    const pruned = await openCopyReuse(copy(), { root, parentKey: 'sha256:p', hashes, lookup: true, layerDirs: async () => ({ chainLayers: () => { throw new Error('SNAPSHOT_NOT_FOUND'); } }) });
    expect((pruned!.reuse as unknown as { previous?: unknown }).previous).toBeUndefined();
    expect(await openCopyReuse(copy({ from: 'x' }), { root, parentKey: 'sha256:p', hashes, lookup: true, layerDirs: async () => undefined })).toBeUndefined();
  });
});

describe('linking unchanged files', () => {
  it('links every unchanged file and gives the layer a full copy gives, byte for byte', async () => {
    const ctx = context();
    const { upper: prev, next } = await firstRun(ctx);
    writeFileSync(join(ctx, 'files/d1/f2.txt'), 'changed\n');
    utimesSync(join(ctx, 'files/d1/f2.txt'), 1_700_000_000, 1_700_000_500.789);
    const full = await copyTo(ctx);
    const { upper, counts, record } = await secondRun(ctx, next);
    expect(counts).toEqual({ linked: 11, offered: 12 });
    expect((await tarOf(upper)).equals(await tarOf(full))).toBe(true);
    expect(lstatSync(join(upper, 'files/d0/f0.txt')).ino).toBe(lstatSync(join(prev, 'files/d0/f0.txt')).ino);
    expect(lstatSync(join(upper, 'files/d1/f2.txt')).nlink).toBe(1);
    expect(readFileSync(join(prev, 'files/d1/f2.txt'), 'utf8')).toBe('file 1/2\n');
    expect(Object.keys(record.files)).toHaveLength(12);
  });
  it('writes a file whose content is the same but whose mtime or mode is not', async () => {
    const ctx = context(1, 3);
    const { next } = await firstRun(ctx);
    utimesSync(join(ctx, 'files/d0/f0.txt'), 1_700_000_000, 1_700_000_999.5);
    chmodSync(join(ctx, 'files/d0/f1.txt'), 0o600);
    const full = await copyTo(ctx);
    const { upper, counts } = await secondRun(ctx, next);
    expect(counts).toEqual({ linked: 1, offered: 3 });
    expect((await tarOf(upper)).equals(await tarOf(full))).toBe(true);
  });
  it('writes every file when --chmod makes the result differ, and links nothing into a mounted root', async () => {
    const ctx = context(1, 2);
    const { next } = await firstRun(ctx);
    expect((await secondRun(ctx, next, { chmod: () => 0o640 })).counts.linked).toBe(0);
    expect((await secondRun(ctx, next, { mayLink: false })).counts).toEqual({ linked: 0, offered: 2 });
  });
  it('never puts one old inode at two paths of the layer, nor links over an entry that was there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reuse-two-'));
    mkdirSync(join(dir, 'd'));
    writeFileSync(join(dir, 'd/a'), 'same');
    linkSync(join(dir, 'd/a'), join(dir, 'd/b'));
    utimesSync(join(dir, 'd/a'), 1_700_000_000, 1_700_000_000.5);
    const st = lstatSync(join(dir, 'd/a'));
    const r = new CopyReuse({ knownHash: () => 'h' }, { dir, files: new Map([['d/a', 'h'], ['d/b', 'h']]) });
    const root = mkdtempSync(join(tmpdir(), 'reuse-root-'));
    mkdirSync(join(root, 'd'));
    const want = { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
    const t = r.target(root, true);
    expect(t.place('/src', st, join(root, 'd/a'), want, true)).toBe(true);
    expect(t.place('/src', st, join(root, 'd/b'), want, true)).toBe(false);
    const t2 = r.target(root, true);
    expect(t2.place('/src', st, join(root, 'd/x'), want, false)).toBe(false);
    expect(t2.place('/src', st, '/elsewhere/d/a', want, true)).toBe(false);
  });
  it('sameResult compares the mtime the copy sets (rounded to milliseconds) within a microsecond', () => {
    // Node's Stats.mtime rounds mtimeMs to whole milliseconds; the copy sets that Date.
    const st = (mtimeMs: number, over: Partial<Stats> = {}) => ({ isFile: () => true, size: 3, uid: 0, gid: 0, mode: 0o100644, mtimeMs, mtime: new Date(Math.round(mtimeMs)), ...over }) as Stats;
    const want = { uid: 0, gid: 0, mode: 0o644 };
    expect(sameResult(st(1000.000999), st(999.7), want)).toBe(true);
    expect(sameResult(st(999.999999), st(1000.2), want)).toBe(true);
    expect(sameResult(st(1000), st(1000.7), want)).toBe(false);
    expect(sameResult(st(1000), st(1001.2), want)).toBe(false);
    expect(sameResult(st(1000, { size: 4 }), st(1000), want)).toBe(false);
    expect(sameResult(st(1000, { uid: 5 }), st(1000), want)).toBe(false);
    expect(sameResult(st(1000, { mode: 0o100600 }), st(1000), want)).toBe(false);
  });
});
