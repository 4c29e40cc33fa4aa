/** `multistage`: three stages, two independent, `COPY --from`, build args. */
import { type BenchCase, baseRef, changeFile, dockerfile, join, put, smallText } from './case.js';

/** The multistage case. */
export const multistage: BenchCase = {
  name: 'multistage',
  summary: 'three stages (two independent), COPY --from, build args',
  bases: ['busybox'],
  buildArgs: { VERSION: '2.0' },
  async write(dir, env) {
    const base = baseRef(env.registry, 'busybox');
    await put(
      join(dir, 'Dockerfile'),
      dockerfile([
        'ARG VERSION=1.0',
        `FROM ${base} AS deps`,
        'ARG VERSION',
        'RUN mkdir -p /out && i=0; while [ $i -lt 200 ]; do echo "dep $i $VERSION" > /out/dep-$i.txt; i=$((i+1)); done',
        '',
        `FROM ${base} AS assets`,
        'COPY assets/ /src/',
        'RUN mkdir -p /out && cat /src/*.txt | sha256sum > /out/assets.sum && cp -r /src /out/assets',
        '',
        `FROM ${base}`,
        'ARG VERSION',
        'LABEL version=$VERSION',
        'COPY --from=deps /out/ /opt/deps/',
        'COPY --from=assets /out/ /opt/assets/',
        'COPY src/ /opt/src/',
        'RUN ls -lR /opt > /opt/manifest.txt',
        'CMD ["ls", "/opt"]',
      ]),
    );
    for (let i = 0; i < 50; i++) await put(join(dir, `assets/a${String(i).padStart(2, '0')}.txt`), smallText(`asset ${i}`, 20));
    for (let i = 0; i < 10; i++) await put(join(dir, `src/s${i}.txt`), smallText(`src ${i}`));
    await put(join(dir, 'src/main.txt'), smallText('multistage main'));
  },
  change: (dir, n) => changeFile(join(dir, 'src/main.txt'), n),
};
