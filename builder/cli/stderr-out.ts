/**
 * Where progress goes: fd 2 written directly when it is a pipe, a socket or a file, else
 * process.stderr. Touching process.stderr makes Node build a stream for it, which loads the
 * net and stream modules: ~5 ms, a noticeable part of a fully cached rebuild. Node writes
 * stdio pipes and files synchronously on Linux, so direct writes keep the output and its order.
 */
import { fstatSync, writeSync } from 'node:fs';

/** A writer for fd 2: direct for pipes, sockets and files; process.stderr for terminals and the rest. */
export function stderrOut(fd = 2): NodeJS.WriteStream {
  let direct = false;
  try {
    const st = fstatSync(fd);
    direct = st.isFIFO() || st.isSocket() || st.isFile();
  } catch {
    // not open: let process.stderr deal with it as before
  }
  if (!direct) return process.stderr;
  const out = {
    isTTY: false,
    write(chunk: string | Uint8Array): boolean {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      let off = 0;
      try {
        while (off < buf.length) off += writeSync(fd, buf, off);
      } catch {
        // A full non-blocking pipe (EAGAIN) or a closed one: Node's stream handles those as it always did.
        return process.stderr.write(buf.subarray(off));
      }
      return true;
    },
  };
  return out as unknown as NodeJS.WriteStream;
}
