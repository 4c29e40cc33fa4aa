/** `tiny`: busybox, a few RUN/COPY/ENV/WORKDIR/USER lines. */
import { type BenchCase, baseRef, changeFile, dockerfile, join, put, smallText } from './case.js';

/** The tiny case. */
export const tiny: BenchCase = {
  name: 'tiny',
  summary: 'busybox base, a few RUN/COPY/ENV/WORKDIR/USER lines',
  bases: ['busybox'],
  async write(dir, env) {
    await put(
      join(dir, 'Dockerfile'),
      dockerfile([
        `FROM ${baseRef(env.registry, 'busybox')}`,
        'ENV APP_HOME=/app GREETING=hello',
        'WORKDIR /app',
        'RUN mkdir -p /app/data && echo "$GREETING" > /app/data/greeting && chown -R 65534:65534 /app/data',
        'COPY config/ /app/config/',
        'COPY main.txt /app/main.txt',
        'USER nobody',
        'RUN wc -l /app/main.txt /app/config/* > /app/data/counts',
        'CMD ["cat", "/app/data/counts"]',
      ]),
    );
    await put(join(dir, 'main.txt'), smallText('tiny main'));
    for (let i = 0; i < 5; i++) await put(join(dir, `config/c${i}.conf`), smallText(`tiny config ${i}`));
  },
  change: (dir, n) => changeFile(join(dir, 'main.txt'), n),
};
