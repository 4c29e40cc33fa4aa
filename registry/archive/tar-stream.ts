/**
 * Tar entries as a stream of chunks, with headers encoded by node-tar:
 * we only ever write regular files and directories whose content we stream
 * from the store, so a generator of blocks is all a writer needs.
 */
import { Header, Pax } from 'tar';

const BLOCK = 512;
const zeros = Buffer.alloc(BLOCK * 2);
// Fixed metadata so that saving the same images twice gives the same bytes.
const epoch = new Date(0);

/** The header block(s) of a tar entry (a PAX header first when the path needs it). */
export function tarHeader(path: string, size: number, type: 'File' | 'Directory' = 'File'): Buffer {
  const data = { path, size: type === 'File' ? size : 0, type, mode: type === 'File' ? 0o644 : 0o755, uid: 0, gid: 0, uname: '', gname: '', mtime: epoch };
  const h = new Header(data);
  if (h.encode()) {
    const pax = new Pax(data).encode();
    const h2 = new Header(data);
    h2.encode();
    return Buffer.concat([pax, h2.block!]);
  }
  return h.block!;
}

/** Zero padding after `size` bytes of content, up to the next 512-byte block. */
export function tarPadding(size: number): Buffer {
  const rem = size % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem);
}

/** The two zero blocks that end an archive. */
export function tarEnd(): Buffer {
  return zeros;
}

/** A whole small file entry: header, content, padding. */
export function* tarFile(path: string, content: Uint8Array): Generator<Buffer> {
  yield tarHeader(path, content.byteLength);
  yield Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  yield tarPadding(content.byteLength);
}

/** A directory entry. */
export function tarDir(path: string): Buffer {
  return tarHeader(path.endsWith('/') ? path : `${path}/`, 0, 'Directory');
}
