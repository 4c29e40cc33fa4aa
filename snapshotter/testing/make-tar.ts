/** Test helper: builds tar archives in memory from headers (with our own writer), hostile ones included. */
import { encodeTarHeader, tarPadding, tarTrailer, type TarEntryHeader } from '../tar-header.js';

/** An entry for makeTar: header fields with defaults, body for files. */
export type MakeTarEntry = Partial<TarEntryHeader> & { path: string; body?: string | Buffer };

/** A tar archive holding `entries` in order (files default to 0644, dirs to 0755, root-owned, mtime 1000). */
export function makeTar(entries: MakeTarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    const type = e.type ?? 'file';
    const h: TarEntryHeader = {
      mode: type === 'dir' ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      mtime: 1000,
      ...e,
      type,
      size: type === 'file' ? body.length : 0,
    };
    parts.push(encodeTarHeader(h));
    if (type === 'file') parts.push(body, Buffer.alloc(tarPadding(body.length)));
  }
  parts.push(tarTrailer());
  return Buffer.concat(parts);
}
