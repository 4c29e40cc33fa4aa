/** `apt`: Debian minbase, `apt-get install` of a small package (network from the sandbox). */
import { type BenchCase, baseRef, changeFile, dockerfile, join, put, smallText } from './case.js';

/** The apt case. */
export const apt: BenchCase = {
  name: 'apt',
  summary: 'Debian minbase, apt-get update && apt-get install -y --no-install-recommends jq',
  bases: ['debian'],
  async write(dir, env) {
    await put(
      join(dir, 'Dockerfile'),
      dockerfile([
        `FROM ${baseRef(env.registry, 'debian')}`,
        'ENV DEBIAN_FRONTEND=noninteractive',
        'RUN apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*',
        'COPY app.txt /app.txt',
        'CMD ["jq", "--version"]',
      ]),
    );
    await put(join(dir, 'app.txt'), smallText('apt app'));
  },
  change: (dir, n) => changeFile(join(dir, 'app.txt'), n),
};
