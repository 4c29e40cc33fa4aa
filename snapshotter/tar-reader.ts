/**
 * A streaming tar reader: yields one entry at a time with its body as an
 * async iterable that must be consumed (or skipped) before the next entry.
 * Understands ustar, PAX (`x`; `g` is read and ignored like Docker does),
 * GNU long names (`L`, `K`) and base-256 numbers. Our own because node-tar's
 * PAX parser decodes values as text, which corrupts binary xattrs
 * (security.capability). Everything after the end marker is drained so that
 * a digest computed on the way in covers the whole stream.
 */
import { decodeRawHeader, isZeroBlock, parsePax, tarPadding, TarFormatError, type TarEntryHeader, type TarEntryType } from './tar-header.js';

/** A parsed entry: the header with names as raw strings, plus unknown types kept as their flag. */
export interface TarReadEntry {
  header: TarEntryHeader;
  /** The raw typeflag for types rbuild does not handle (`S` sparse, `V`, ...); undefined for known types. */
  unsupportedType?: string;
  /** The body bytes (files only); consume fully or call skip(). */
  body(): AsyncGenerator<Buffer>;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere that matters
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

/** Buffers an async byte source and hands out exact-length reads. */
class ByteReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private done = false;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.have < n && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      if (b.length === 0) continue;
      this.chunks.push(b);
      this.have += b.length;
    }
    return this.have >= n;
  }

  /** Exactly n bytes, or null at a clean EOF (no bytes left); throws on a short read. */
  async read(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.have === 0) return null;
      throw new TarFormatError('unexpected end of tar stream');
    }
    return this.take(n);
  }

  private take(n: number): Buffer {
    if (this.chunks[0]!.length >= n) {
      const c = this.chunks[0]!;
      const out = c.subarray(0, n);
      if (c.length === n) this.chunks.shift();
      else this.chunks[0] = c.subarray(n);
      this.have -= n;
      return out;
    }
    const all = Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.have -= n;
    return out;
  }

  /** Yields up to n bytes as they arrive, without gathering them. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.have === 0 && !(await this.fill(1))) throw new TarFormatError('unexpected end of tar stream');
      const c = this.chunks[0]!;
      const k = Math.min(left, c.length);
      yield this.take(k);
      left -= k;
    }
  }

  /** Reads and discards everything left. */
  async drain(): Promise<void> {
    this.chunks = [];
    this.have = 0;
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
    }
  }
}

/** Iterates the entries of a tar stream. */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarReadEntry> {
  const r = new ByteReader(source[Symbol.asyncIterator]());
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;
  let pax: Map<string, Buffer> | undefined;
  for (;;) {
    const block = await r.read(512);
    if (block === null) return; // EOF without end marker: accepted like GNU tar
    if (isZeroBlock(block)) {
      await r.drain();
      return;
    }
    const raw = decodeRawHeader(block);
    const padded = raw.size + tarPadding(raw.size);
    if (raw.typeflag === 'x' || raw.typeflag === 'g' || raw.typeflag === 'L' || raw.typeflag === 'K') {
      if (raw.size > 16 * 1024 * 1024) throw new TarFormatError(`extended header of ${raw.size} bytes is too large`);
      const body = (await r.read(padded)) ?? Buffer.alloc(0);
      const data = body.subarray(0, raw.size);
      if (raw.typeflag === 'x') pax = new Map([...(pax ?? []), ...parsePax(data)]);
      else if (raw.typeflag === 'L') longName = cstr(data);
      else if (raw.typeflag === 'K') longLink = cstr(data);
      continue;
    }
    const type = TYPES[raw.typeflag];
    const num = (k: string, dflt: number): number => {
      const v = pax?.get(k);
      if (v === undefined) return dflt;
      const n = Number(v.toString('ascii'));
      if (!Number.isFinite(n) || n < 0) throw new TarFormatError(`invalid PAX ${k}`);
      return n;
    };
    let name = (pax?.get('path') ?? longName ?? raw.name).toString('utf8');
    const link = (pax?.get('linkpath') ?? longLink ?? raw.linkname).toString('utf8');
    let entryType: TarEntryType = type ?? 'file';
    // Old tars mark directories only by a trailing slash.
    if (raw.typeflag === '0' && name.endsWith('/')) entryType = 'dir';
    if (entryType === 'dir') name = name.replace(/\/+$/, '');
    const xattrs: Record<string, Buffer> = {};
    for (const [k, v] of pax ?? []) {
      if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice('SCHILY.xattr.'.length)] = v;
    }
    const size = num('size', raw.size);
    const header: TarEntryHeader = {
      path: name,
      type: entryType,
      mode: raw.mode & 0o7777,
      uid: num('uid', raw.uid),
      gid: num('gid', raw.gid),
      size: entryType === 'file' ? size : 0,
      mtime: Math.floor(num('mtime', raw.mtime)),
      devmajor: raw.devmajor,
      devminor: raw.devminor,
      uname: pax?.get('uname')?.toString('utf8') ?? raw.uname,
      gname: pax?.get('gname')?.toString('utf8') ?? raw.gname,
    };
    if (link !== '') header.linkname = link;
    if (Object.keys(xattrs).length > 0) header.xattrs = xattrs;
    longName = longLink = pax = undefined;

    // The body length on the wire is the header's size whatever the type says (hardlinks may carry one).
    const wire = size;
    let left = wire;
    const body = async function* (): AsyncGenerator<Buffer> {
      while (left > 0) {
        const want = left;
        left = 0; // a second call, or an abandoned one, leaves the rest to the skip below
        let got = 0;
        try {
          for await (const c of r.stream(want)) {
            got += c.length;
            yield c;
          }
        } finally {
          left = want - got;
        }
      }
    };
    const entry: TarReadEntry = { header, body };
    if (type === undefined) entry.unsupportedType = raw.typeflag;
    yield entry;
    if (left > 0) for await (const _ of r.stream(left)) void _;
    const pad = tarPadding(wire);
    if (pad > 0 && (await r.read(pad)) === null) throw new TarFormatError('unexpected end of tar stream');
  }
}

function cstr(b: Buffer): Buffer {
  const i = b.indexOf(0);
  return i === -1 ? b : b.subarray(0, i);
}
