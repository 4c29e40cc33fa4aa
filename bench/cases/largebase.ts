/** `largebase`: a base image with 100,000 files, a RUN touching one (the cost of finding what changed). */
import { type BenchCase, baseRef, changeFile, dockerfile, join, put, smallText } from './case.js';

/** How many files the largebase image adds to busybox (quick: 5,000). */
export const largebaseFiles = (quick: boolean): number => (quick ? 5_000 : 100_000);

/** The largebase case. */
export const largebase: BenchCase = {
  name: 'largebase',
  summary: 'a base of 100,000 files (quick: 5,000), RUN touching one of them',
  bases: ['largebase'],
  async write(dir, env) {
    await put(
      join(dir, 'Dockerfile'),
      dockerfile([
        `FROM ${baseRef(env.registry, 'largebase')}`,
        'RUN echo touched >> /data/d000/f000.txt',
        'COPY app.txt /app.txt',
        'CMD ["cat", "/app.txt"]',
      ]),
    );
    await put(join(dir, 'app.txt'), smallText('largebase app'));
  },
  change: (dir, n) => changeFile(join(dir, 'app.txt'), n),
};
