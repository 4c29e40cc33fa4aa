import { Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { bodyChunks } from './body-chunks.js';

describe('bodyChunks', () => {
  it('hands on each chunk as it was pushed (the same Buffers, not joined copies), also to a slow reader', async () => {
    const pieces = Array.from({ length: 100 }, (_, i) => Buffer.alloc(1000, i));
    const body = Readable.from(pieces, { objectMode: false });
    const got: Buffer[] = [];
    for await (const c of bodyChunks(body)) {
      got.push(c);
      await tick(); // let the body run ahead: a byte stream's iterator would now join what it buffered
    }
    expect(got.length).toBe(100);
    got.forEach((c, i) => expect(c).toBe(pieces[i]));
  });

  it('pauses a body that runs ahead and resumes it as the reader catches up', async () => {
    let pushed = 0;
    const body = new Readable({
      read() {
        this.push(pushed < 200 ? Buffer.alloc(4096, pushed++) : null); // the stream itself buffers 16 KiB: 4 of these
      },
    });
    let most = 0;
    let n = 0;
    for await (const c of bodyChunks(body)) {
      expect(c[0]).toBe(n++ % 256);
      most = Math.max(most, pushed - n);
      await tick();
    }
    expect(n).toBe(200);
    expect(most).toBeLessThan(40); // bounded queue (16) plus the stream's own buffer
  });

  it('throws when the body fails or closes before its end', async () => {
    const failing = new Readable({ read() {} });
    failing.push(Buffer.from('abc'));
    setImmediate(() => failing.destroy(Object.assign(new Error('socket hang up'), { code: 'UND_ERR_SOCKET' })));
    const got: Buffer[] = [];
    await expect((async () => {
      for await (const c of bodyChunks(failing)) got.push(c);
    })()).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    expect(Buffer.concat(got).toString()).toBe('abc');

    const cut = new Readable({ read() {} });
    setImmediate(() => cut.destroy());
    await expect((async () => {
      for await (const _ of bodyChunks(cut)) void _;
    })()).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
  });

  it('destroys the body when the reader stops early', async () => {
    const body = new Readable({ read() { this.push(Buffer.alloc(10)); } });
    for await (const _ of bodyChunks(body)) break;
    expect(body.destroyed).toBe(true);
  });
});
