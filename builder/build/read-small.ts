/**
 * Reading a small file whose size an lstat just gave, in the fewest system calls
 * (open, one read, close): COPY and the context checksum do this for every file of
 * a context, where readFileSync's extra fstat and buffer allocation add up.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * The content of the regular file `abs`, expected to be `size` bytes. The result is a view
 * into a shared buffer, valid only until the next call: use it at once (hash it, write it).
 */
export function readSmallFile(abs: string, size: number): Buffer {
  if (scratch.length < size + 1) scratch = Buffer.allocUnsafe(Math.max(size + 1, scratch.length * 2));
  const fd = openSync(abs, 'r');
  let n: number;
  try {
    // One byte more than expected: a regular file reads short only at its end; a full read means it grew.
    n = readSync(fd, scratch, 0, size + 1, 0);
  } finally {
    closeSync(fd);
  }
  // The file grew since it was listed: read it whole, however big it is now.
  if (n > size) return readFileSync(abs);
  return scratch.subarray(0, n);
}
