/**
 * A response body's chunks as they arrived, without the copy a byte stream's
 * async iterator makes (it joins everything buffered into one new Buffer).
 */
import type { Readable } from 'node:stream';

/** Most chunks bodyChunks holds before pausing the body (16 x ~64 KiB socket reads). */
const BODY_QUEUE = 16;

/**
 * The chunks of a response body as they arrived, in flowing mode. `for await` on a byte stream
 * calls read(), which concatenates everything buffered into one new Buffer; flowing mode emits
 * each chunk once, and pausing at BODY_QUEUE chunks keeps TCP's backpressure.
 */
export async function* bodyChunks(body: Readable): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let done = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    if (queue.length >= BODY_QUEUE) body.pause();
    notify();
  };
  const onEnd = (): void => {
    done = true;
    notify();
  };
  const onError = (err: unknown): void => {
    failure = err;
    done = true;
    notify();
  };
  // 'close' without 'end' is a body cut short (undici destroys it on a dropped connection).
  const onClose = (): void => {
    if (!done && !body.readableEnded) failure ??= Object.assign(new Error('response body closed before its end'), { code: 'UND_ERR_SOCKET' });
    done = true;
    notify();
  };
  body.on('data', onData);
  body.once('end', onEnd);
  body.once('error', onError);
  body.once('close', onClose);
  try {
    for (;;) {
      if (queue.length > 0) {
        const chunk = queue.shift()!;
        if (queue.length < BODY_QUEUE / 2 && body.isPaused() && !done) body.resume();
        yield chunk;
        continue;
      }
      if (failure !== undefined) throw failure;
      if (done) return;
      if (body.isPaused()) body.resume();
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    body.off('data', onData);
    body.off('end', onEnd);
    body.off('error', onError);
    body.off('close', onClose);
    // Stopped early (an error downstream, or the consumer gave up): release the connection.
    if (!body.readableEnded) body.destroy();
  }
}
