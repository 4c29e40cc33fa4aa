/** `manyfiles`: COPY of 20,000 small files, then a RUN that modifies 100 and deletes 100. */
import { type BenchCase, baseRef, changeFile, dockerfile, join, put, smallText } from './case.js';

const FILES_PER_DIR = 100;
const dirs = (quick: boolean): number => (quick ? 10 : 200);
const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** The manyfiles case (quick: 1,000 files, 10 modified and 10 deleted). */
export const manyfiles: BenchCase = {
  name: 'manyfiles',
  summary: 'COPY of 20,000 small files (quick: 1,000), then a RUN modifying 100 and deleting 100',
  bases: ['busybox'],
  layerDir: 'files',
  async write(dir, env) {
    const n = dirs(env.quick);
    const touched = Math.min(100, n);
    await put(
      join(dir, 'Dockerfile'),
      dockerfile([
        `FROM ${baseRef(env.registry, 'busybox')}`,
        'COPY files/ /files/',
        // f00 of each of the first dirs is appended to, f01 deleted.
        `RUN i=0; while [ $i -lt ${touched} ]; do d=/files/d$(printf %03d $i); echo modified >> $d/f00.txt; rm $d/f01.txt; i=$((i+1)); done`,
        'CMD ["ls", "/files"]',
      ]),
    );
    for (let d = 0; d < n; d++) {
      const writes: Promise<void>[] = [];
      for (let f = 0; f < FILES_PER_DIR; f++) {
        writes.push(put(join(dir, `files/d${pad(d, 3)}/f${pad(f, 2)}.txt`), smallText(`file ${d}/${f}`, 1 + ((d * 7 + f) % 5))));
      }
      await Promise.all(writes);
    }
  },
  // One of the 20,000 files: the COPY and the RUN after it are redone.
  change: (dir, n) => changeFile(join(dir, 'files/d005/f50.txt'), n),
};
