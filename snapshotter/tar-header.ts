/**
 * Tar headers, written and read: ustar blocks plus PAX extended records for
 * whatever ustar cannot hold (long names and link names, big ids and sizes,
 * xattrs as SCHILY.xattr.*). Pure: bytes in, bytes out. The writer is
 * deterministic (no uname/gname, no atime/ctime, integer mtimes), so the same
 * tree always gives the same layer digest.
 */

/** Entry types rbuild reads and writes. */
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One tar entry's metadata. `path` has no leading `./` or `/`; directories have no trailing slash. */
export interface TarEntryHeader {
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Body length; 0 for everything but files. */
  size: number;
  /** Seconds since the epoch (integer when written). */
  mtime: number;
  /** Symlink target or hardlink target path. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** xattrs by full name (e.g. `security.capability`). */
  xattrs?: Record<string, Buffer>;
  uname?: string;
  gname?: string;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

/** Number of padding bytes after a body of `size` bytes. */
export function tarPadding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

/** The end-of-archive marker: two zero blocks. */
export function tarTrailer(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

/** The largest value an octal field of `width` bytes holds (width-1 digits plus NUL). */
function octalMax(width: number): number {
  return 8 ** (width - 1) - 1;
}

/** Writes a numeric field as NUL-terminated octal, or GNU base-256 when it does not fit (readers use PAX first). */
function writeNumber(buf: Buffer, off: number, width: number, value: number): void {
  if (value >= 0 && value <= octalMax(width)) {
    // Digit by digit, right to left: a header per file makes this hot (20,000-file layers).
    let v = Math.trunc(value);
    buf[off + width - 1] = 0;
    for (let i = off + width - 2; i >= off; i--) {
      buf[i] = 0x30 + (v % 8);
      v = Math.floor(v / 8);
    }
    return;
  }
  // base-256: high bit of the first byte set, big-endian two's complement.
  let v = BigInt(Math.trunc(value));
  for (let i = width - 1; i > 0; i--) {
    buf[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  buf[off] = 0x80;
}

/** One PAX record: `<len> <key>=<value>\n` where len counts itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // ' ', '=', '\n'
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

/** Splits a path into ustar prefix (155) and name (100), or undefined when impossible. */
function splitUstar(p: Buffer): { prefix: Buffer; name: Buffer } | undefined {
  if (p.length <= 100) return { prefix: Buffer.alloc(0), name: p };
  if (p.length > 256) return undefined;
  for (let i = p.length - 1; i > 0; i--) {
    if (p[i] !== 0x2f) continue;
    const prefix = p.subarray(0, i);
    const name = p.subarray(i + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return { prefix, name };
    if (prefix.length <= 155) return undefined;
  }
  return undefined;
}

function isAscii(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80 || b[i] === 0) return false;
  return true;
}

const MAGIC = Buffer.from('ustar\u000000', 'binary');

/** One raw 512-byte ustar header block. */
function ustarBlock(f: {
  name: Buffer;
  prefix: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: Buffer;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  f.name.copy(b, 0, 0, Math.min(100, f.name.length));
  writeNumber(b, 100, 8, f.mode);
  writeNumber(b, 108, 8, f.uid);
  writeNumber(b, 116, 8, f.gid);
  writeNumber(b, 124, 12, f.size);
  writeNumber(b, 136, 12, f.mtime);
  b.fill(0x20, 148, 156); // checksum is computed with spaces here
  b[156] = f.typeflag.charCodeAt(0);
  if (f.linkname.length > 0) f.linkname.copy(b, 157, 0, Math.min(100, f.linkname.length));
  MAGIC.copy(b, 257);
  if (f.uname !== '') b.write(f.uname.slice(0, 31), 265, 32, 'utf8');
  if (f.gname !== '') b.write(f.gname.slice(0, 31), 297, 32, 'utf8');
  writeNumber(b, 329, 8, f.devmajor);
  writeNumber(b, 337, 8, f.devminor);
  if (f.prefix.length > 0) f.prefix.copy(b, 345, 0, Math.min(155, f.prefix.length));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  writeNumber(b, 148, 7, sum); // six octal digits and a NUL...
  b[155] = 0x20; // ...then a space, as GNU tar writes it
  return b;
}

/**
 * The header blocks of one entry: a PAX `x` entry when needed, then the ustar
 * block. The caller writes the body (for files) and `tarPadding(size)` zeros.
 */
export function encodeTarHeader(h: TarEntryHeader): Buffer {
  const path = h.type === 'dir' ? `${h.path}/` : h.path;
  const pathBytes = Buffer.from(path, 'utf8');
  const linkBytes = Buffer.from(h.linkname ?? '', 'utf8');
  const records: Buffer[] = [];
  const mtime = Math.max(0, Math.floor(h.mtime));
  const size = h.type === 'file' ? h.size : 0;

  let split = isAscii(pathBytes) ? splitUstar(pathBytes) : undefined;
  if (!split) {
    records.push(paxRecord('path', pathBytes));
    split = { prefix: Buffer.alloc(0), name: pathBytes.subarray(0, 100) };
  }
  if (linkBytes.length > 100 || !isAscii(linkBytes)) records.push(paxRecord('linkpath', linkBytes));
  if (h.uid > octalMax(8)) records.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if (h.gid > octalMax(8)) records.push(paxRecord('gid', Buffer.from(String(h.gid))));
  if (size > octalMax(12)) records.push(paxRecord('size', Buffer.from(String(size))));
  if (mtime > octalMax(12)) records.push(paxRecord('mtime', Buffer.from(String(mtime))));
  if (h.xattrs) {
    for (const name of Object.keys(h.xattrs).sort()) {
      records.push(paxRecord(`SCHILY.xattr.${name}`, h.xattrs[name]!));
    }
  }

  const main = ustarBlock({
    name: split.name,
    prefix: split.prefix,
    mode: h.mode & 0o7777,
    uid: h.uid,
    gid: h.gid,
    size,
    mtime,
    typeflag: TYPEFLAG[h.type],
    linkname: linkBytes,
    uname: h.uname ?? '',
    gname: h.gname ?? '',
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (records.length === 0) return main;

  const body = Buffer.concat(records);
  const base = pathBytes.subarray(Math.max(0, pathBytes.length - 80)).toString('latin1').replace(/[^\x20-\x7e]/g, '_');
  const pax = ustarBlock({
    name: Buffer.from(`PaxHeaders/${base.replace(/\//g, '_')}`.slice(0, 99), 'latin1'),
    prefix: Buffer.alloc(0),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: Math.min(mtime, octalMax(12)),
    typeflag: 'x',
    linkname: Buffer.alloc(0),
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([pax, body, Buffer.alloc(tarPadding(body.length)), main]);
}

/** Raised for malformed tar input. */
export class TarFormatError extends Error {
  readonly code = 'TAR_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

/** Reads a numeric field: octal (space/NUL padded) or GNU base-256. */
export function readNumber(b: Buffer, off: number, width: number): number {
  if (b[off]! & 0x80) {
    let v = BigInt(b[off]! & 0x7f);
    for (let i = 1; i < width; i++) v = (v << 8n) | BigInt(b[off + i]!);
    return Number(v);
  }
  const s = b.toString('ascii', off, off + width).replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`invalid numeric field ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

/** A decoded raw header block (before PAX/GNU long-name overrides). */
export interface RawTarHeader {
  /** Type flag character ('0', '5', 'x', 'L', ...). */
  typeflag: string;
  name: Buffer;
  linkname: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
  uname: string;
  gname: string;
}

/** Whether a block is all zeros (end of archive). */
export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parses PAX records into key -> raw value bytes (values may be binary, e.g. xattrs). */
export function parsePax(body: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < body.length) {
    if (body[off] === 0) break; // trailing NUL padding
    const sp = body.indexOf(0x20, off);
    if (sp === -1) throw new TarFormatError('malformed PAX record');
    const len = Number(body.toString('ascii', off, sp));
    if (!Number.isInteger(len) || len <= sp - off + 1 || off + len > body.length) {
      throw new TarFormatError('malformed PAX record length');
    }
    const rec = body.subarray(sp + 1, off + len - 1); // drop trailing '\n'
    if (body[off + len - 1] !== 0x0a) throw new TarFormatError('PAX record not newline-terminated');
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new TarFormatError('PAX record without key');
    out.set(rec.toString('utf8', 0, eq), rec.subarray(eq + 1));
    off += len;
  }
  return out;
}
