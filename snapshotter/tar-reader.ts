/**
 * A streaming tar reader: yields one entry at a time with its body as an
 * async iterable that must be consumed (or skipped) before the next entry.
 * Understands ustar, PAX (`x`; `g` is read and ignored like Docker does),
 * GNU long names (`L`, `K`) and base-256 numbers. Our own because node-tar's
 * PAX parser decodes values as text, which corrupts binary xattrs
 * (security.capability). Everything after the end marker is drained so that
 * a digest computed on the way in covers the whole stream.
 *
 * Two interfaces over one header decoder: `readTar`, pull-style (an async
 * generator, bodies as async iterables), and `TarParser`, push-style and
 * synchronous, for the extractor: one `await` per entry costs more than the
 * file's syscalls, and a small body that arrived whole is handed over as one
 * Buffer so that it can be written with one write(2).
 */
import { isZeroBlock, parsePax, readNumber, tarPadding, TarFormatError, type RawTarHeader, type TarEntryHeader, type TarEntryType } from './tar-header.js';

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

/** Octal numeric field, fast path; anything unusual (base-256, odd padding, garbage) goes to readNumber. */
function octal(b: Buffer, off: number, width: number): number {
  const end = off + width;
  let i = off;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
  }
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0) break;
    if (c !== 0x20) return readNumber(b, off, width);
  }
  return v;
}

/** Bytes of a NUL-terminated field (no copy). */
function field(b: Buffer, off: number, width: number): Buffer {
  let end = off;
  const max = off + width;
  while (end < max && b[end] !== 0) end++;
  return b.subarray(off, end);
}

/** A field decoded as UTF-8 text ('' without allocating when empty). */
function text(b: Buffer, off: number, width: number): string {
  return b[off] === 0 ? '' : field(b, off, width).toString('utf8');
}

/**
 * Decodes one header block and verifies its checksum, without string round
 * trips (one call per entry, and layers of 100,000 entries made it show in
 * profiles). The test checks it against node-tar's Header.
 */
export function decodeHeaderBlock(b: Buffer): RawTarHeader {
  let sum = 0;
  for (let i = 0; i < 148; i++) sum += b[i]!;
  sum += 8 * 0x20;
  for (let i = 156; i < 512; i++) sum += b[i]!;
  const want = octal(b, 148, 8);
  if (sum !== want) {
    // Some old writers summed signed bytes.
    let ssum = 0;
    for (let i = 0; i < 512; i++) ssum += i >= 148 && i < 156 ? 0x20 : (b[i]! << 24) >> 24;
    if (ssum !== want) throw new TarFormatError('tar header checksum mismatch');
  }
  // "ustar\0" (POSIX, with a prefix field) or "ustar " (old GNU, without).
  const ustar = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72;
  let name = field(b, 0, 100);
  if (ustar && b[262] === 0 && b[345] !== 0) name = Buffer.concat([field(b, 345, 155), SLASH, name]);
  return {
    typeflag: b[156] === 0 ? '0' : String.fromCharCode(b[156]!),
    name,
    linkname: field(b, 157, 100),
    mode: octal(b, 100, 8),
    uid: octal(b, 108, 8),
    gid: octal(b, 116, 8),
    size: octal(b, 124, 12),
    mtime: octal(b, 136, 12),
    uname: text(b, 265, 32),
    gname: text(b, 297, 32),
    devmajor: octal(b, 329, 8),
    devminor: octal(b, 337, 8),
  };
}

const SLASH = Buffer.from('/');

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

/** A decoded entry header and the length of its body on the wire. */
interface ParsedEntry {
  header: TarEntryHeader;
  wire: number;
  unsupportedType?: string;
}

/** What a header block plus its pending extended records describe. */
interface Pending {
  longName?: Buffer | undefined;
  longLink?: Buffer | undefined;
  pax?: Map<string, Buffer> | undefined;
}

const EXTENDED = new Set(['x', 'g', 'L', 'K']);
/** Extended headers above this size are refused: they are held in memory whole. */
const MAX_EXTENDED = 16 * 1024 * 1024;

/** Folds one extended header's body into the pending state. */
function applyExtended(p: Pending, typeflag: string, data: Buffer): void {
  if (typeflag === 'x') p.pax = new Map([...(p.pax ?? []), ...parsePax(data)]);
  else if (typeflag === 'L') p.longName = cstr(data);
  else if (typeflag === 'K') p.longLink = cstr(data);
  // 'g' (global PAX) is read and ignored, as Docker does.
}

/** The entry a main header block describes, with PAX and GNU long names applied; resets `p`. */
function entryOf(raw: RawTarHeader, p: Pending): ParsedEntry {
  const { pax } = p;
  const type = TYPES[raw.typeflag];
  const num = (k: string, dflt: number): number => {
    const v = pax?.get(k);
    if (v === undefined) return dflt;
    const n = Number(v.toString('ascii'));
    if (!Number.isFinite(n) || n < 0) throw new TarFormatError(`invalid PAX ${k}`);
    return n;
  };
  let name = (pax?.get('path') ?? p.longName ?? raw.name).toString('utf8');
  const linkBytes = pax?.get('linkpath') ?? p.longLink ?? raw.linkname;
  let entryType: TarEntryType = type ?? 'file';
  // Old tars mark directories only by a trailing slash.
  if (raw.typeflag === '0' && name.endsWith('/')) entryType = 'dir';
  if (entryType === 'dir' && name.endsWith('/')) name = name.replace(/\/+$/, '');
  let xattrs: Record<string, Buffer> | undefined;
  if (pax) {
    for (const [k, v] of pax) {
      if (k.startsWith('SCHILY.xattr.')) (xattrs ??= {})[k.slice('SCHILY.xattr.'.length)] = v;
    }
  }
  const size = pax ? num('size', raw.size) : raw.size;
  const header: TarEntryHeader = {
    path: name,
    type: entryType,
    mode: raw.mode & 0o7777,
    uid: pax ? num('uid', raw.uid) : raw.uid,
    gid: pax ? num('gid', raw.gid) : raw.gid,
    size: entryType === 'file' ? size : 0,
    mtime: Math.floor(pax ? num('mtime', raw.mtime) : raw.mtime),
    devmajor: raw.devmajor,
    devminor: raw.devminor,
    uname: pax?.get('uname')?.toString('utf8') ?? raw.uname,
    gname: pax?.get('gname')?.toString('utf8') ?? raw.gname,
  };
  if (linkBytes.length > 0) header.linkname = linkBytes.toString('utf8');
  if (xattrs) header.xattrs = xattrs;
  p.longName = p.longLink = p.pax = undefined;
  // The body length on the wire is the header's size whatever the type says (hardlinks may carry one).
  return type === undefined ? { header, wire: size, unsupportedType: raw.typeflag } : { header, wire: size };
}

/** Iterates the entries of a tar stream. */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarReadEntry> {
  const r = new ByteReader(source[Symbol.asyncIterator]());
  const pending: Pending = {};
  for (;;) {
    const block = await r.read(512);
    if (block === null) return; // EOF without end marker: accepted like GNU tar
    if (isZeroBlock(block)) {
      await r.drain();
      return;
    }
    const raw = decodeHeaderBlock(block);
    const padded = raw.size + tarPadding(raw.size);
    if (EXTENDED.has(raw.typeflag)) {
      if (raw.size > MAX_EXTENDED) throw new TarFormatError(`extended header of ${raw.size} bytes is too large`);
      const body = (await r.read(padded)) ?? Buffer.alloc(0);
      applyExtended(pending, raw.typeflag, body.subarray(0, raw.size));
      continue;
    }
    const { header, wire, unsupportedType } = entryOf(raw, pending);
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
    if (unsupportedType !== undefined) entry.unsupportedType = unsupportedType;
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

/** Receives a tar stream's entries from TarParser, synchronously, in order. */
export interface TarHandler {
  /**
   * An entry starts. `body` is the whole body when the entry is not a file
   * (empty), is an empty file, or arrived in one piece; otherwise it is
   * undefined and data() calls follow, then end(). Bodies of non-files and of
   * unsupported types are skipped. Bodies are views of the fed chunks, not copies.
   */
  entry(header: TarEntryHeader, unsupportedType: string | undefined, body: Buffer | undefined): void;
  /** The next piece of the current file's body. */
  data(chunk: Buffer): void;
  /** The current file's body is complete. */
  end(): void;
}

const enum State {
  Header,
  Body,
  Skip,
  Extended,
  Done,
}

const EMPTY = Buffer.alloc(0);

/**
 * A push-style, synchronous tar parser: feed() it the stream's chunks in order
 * and it calls the handler for each entry. Everything after the end marker is
 * ignored (the caller still hashes it).
 */
export class TarParser {
  private state = State.Header;
  /** Bytes still to deliver (Body) or drop (Skip). */
  private left = 0;
  /** Padding after the current body. */
  private pad = 0;
  /** Pieces of a header or extended record split across chunks. */
  private parts: Buffer[] = [];
  private partLen = 0;
  private ext: { typeflag: string; size: number; need: number } | undefined;
  private readonly pending: Pending = {};

  constructor(private readonly handler: TarHandler) {}

  /** Collects exactly n bytes starting at chunk[off]: the bytes, or undefined (kept for the next chunk). */
  private gather(chunk: Buffer, off: number, n: number): Buffer | undefined {
    if (this.partLen === 0 && chunk.length - off >= n) return chunk.subarray(off, off + n);
    const take = Math.min(n - this.partLen, chunk.length - off);
    // Copied: the caller's chunk may be reused after feed() returns.
    this.parts.push(Buffer.from(chunk.subarray(off, off + take)));
    this.partLen += take;
    if (this.partLen < n) return undefined;
    const all = Buffer.concat(this.parts, n);
    this.parts = [];
    this.partLen = 0;
    return all;
  }

  /** Bytes of chunk[off..] gather() consumed for a request of n (with partLen before the call). */
  private static used(before: number, n: number, avail: number): number {
    return Math.min(n - before, avail);
  }

  /** Parses the next piece of the stream. */
  feed(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      switch (this.state) {
        case State.Header: {
          const before = this.partLen;
          const block = this.gather(chunk, off, 512);
          off += TarParser.used(before, 512, chunk.length - off);
          if (block === undefined) return;
          off = this.header(block, chunk, off);
          break;
        }
        case State.Body: {
          const k = Math.min(this.left, chunk.length - off);
          this.left -= k;
          this.handler.data(chunk.subarray(off, off + k));
          off += k;
          if (this.left === 0) {
            this.handler.end();
            this.skip(this.pad);
          }
          break;
        }
        case State.Skip: {
          const k = Math.min(this.left, chunk.length - off);
          off += k;
          this.left -= k;
          if (this.left === 0) this.state = State.Header;
          break;
        }
        case State.Extended: {
          const e = this.ext!;
          const before = this.partLen;
          const body = this.gather(chunk, off, e.need);
          off += TarParser.used(before, e.need, chunk.length - off);
          if (body === undefined) return;
          applyExtended(this.pending, e.typeflag, body.subarray(0, e.size));
          this.ext = undefined;
          this.state = State.Header;
          break;
        }
        case State.Done:
          return;
      }
    }
  }

  private skip(n: number): void {
    this.left = n;
    this.state = n === 0 ? State.Header : State.Skip;
  }

  /** Handles one header block; returns the new offset in chunk (a whole body may be consumed). */
  private header(block: Buffer, chunk: Buffer, off: number): number {
    if (isZeroBlock(block)) {
      this.state = State.Done;
      return chunk.length;
    }
    const raw = decodeHeaderBlock(block);
    if (EXTENDED.has(raw.typeflag)) {
      if (raw.size > MAX_EXTENDED) throw new TarFormatError(`extended header of ${raw.size} bytes is too large`);
      const need = raw.size + tarPadding(raw.size);
      if (need === 0) return off;
      this.ext = { typeflag: raw.typeflag, size: raw.size, need };
      this.state = State.Extended;
      return off;
    }
    const { header, wire, unsupportedType } = entryOf(raw, this.pending);
    const pad = tarPadding(wire);
    const streamed = header.type === 'file' && unsupportedType === undefined && wire > 0;
    if (!streamed) {
      this.handler.entry(header, unsupportedType, EMPTY);
      this.skip(wire + pad);
      return off;
    }
    if (chunk.length - off >= wire) {
      this.handler.entry(header, undefined, chunk.subarray(off, off + wire));
      this.skip(pad);
      return off + wire;
    }
    this.handler.entry(header, undefined, undefined);
    this.left = wire;
    this.pad = pad;
    this.state = State.Body;
    return off;
  }

  /** The stream ended: throws when it stopped inside an entry (no end marker is fine, as for GNU tar). */
  end(): void {
    if (this.state === State.Done) return;
    if (this.state === State.Header && this.partLen === 0) return;
    throw new TarFormatError('unexpected end of tar stream');
  }
}
