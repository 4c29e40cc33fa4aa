/** `bigfile`: one 512 MiB layer, half incompressible pseudo-random bytes, half base64 text. */
import { type BenchCase, base64Text, baseRef, changeFile, dockerfile, join, pseudoRandom, put, smallText, writeStreamed } from './case.js';

const MiB = 1 << 20;

/** The size of each of the two files (quick: 16 MiB each, 32 MiB in all). */
export const bigfileHalf = (quick: boolean): number => (quick ? 16 : 256) * MiB;

/** The bigfile case. */
export const bigfile: BenchCase = {
  name: 'bigfile',
  summary: 'one 512 MiB layer (quick: 32 MiB): half pseudo-random, half base64 text',
  bases: ['busybox'],
  layerDir: 'data',
  async write(dir, env) {
    await put(
      join(dir, 'Dockerfile'),
      dockerfile([`FROM ${baseRef(env.registry, 'busybox')}`, 'COPY data/ /data/', 'COPY app.txt /app.txt', 'CMD ["ls", "-l", "/data"]']),
    );
    await writeStreamed(join(dir, 'data/random.bin'), bigfileHalf(env.quick), pseudoRandom('bigfile random'));
    await writeStreamed(join(dir, 'data/text.txt'), bigfileHalf(env.quick), base64Text('bigfile text'));
    await put(join(dir, 'app.txt'), smallText('bigfile app'));
  },
  // A small file after the big COPY: the rebuild still has to check the big files did not change.
  change: (dir, n) => changeFile(join(dir, 'app.txt'), n),
};
