import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { withFileLock } from './file-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbuild-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('withFileLock', () => {
  it('serialises critical sections in one process and removes the lock after', async () => {
    const lock = join(dir, 'l');
    const order: string[] = [];
    await Promise.all(
      [1, 2, 3].map((i) =>
        withFileLock(lock, async () => {
          order.push(`in${i}`);
          expect(await readFile(lock, 'utf8')).toBe(`${process.pid} ${hostname()}\n`);
          await new Promise((r) => setTimeout(r, 5));
          order.push(`out${i}`);
        }),
      ),
    );
    for (let k = 0; k < order.length; k += 2) expect(order[k]!.slice(2)).toBe(order[k + 1]!.slice(3));
    await expect(readFile(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('waits for a live holder and gives up with LOCK_TIMEOUT naming it', async () => {
    const lock = join(dir, 'l');
    await writeFile(lock, `${process.pid} ${hostname()}\n`);
    await expect(withFileLock(lock, async () => undefined, { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
      message: expect.stringContaining(`held by ${process.pid}`),
    });
  });

  it('breaks a lock of a dead process and one from another host only when old', async () => {
    const lock = join(dir, 'l');
    await writeFile(lock, `4194304999 ${hostname()}\n`);
    expect(await withFileLock(lock, async () => 'ran')).toBe('ran');
    await writeFile(lock, '1 some-other-host\n');
    await expect(withFileLock(lock, async () => 'ran', { timeoutMs: 30 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    expect(await withFileLock(lock, async () => 'ran', { foreignStaleMs: 0 })).toBe('ran');
  });

  it('stops waiting on abort', async () => {
    const lock = join(dir, 'l');
    await writeFile(lock, `${process.pid} ${hostname()}\n`);
    await expect(withFileLock(lock, async () => undefined, { signal: AbortSignal.timeout(30) })).rejects.toThrow();
  });
});
