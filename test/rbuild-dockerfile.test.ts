/**
 * docs/rbuild.Dockerfile (rbuild packaged as a non-root CI image) parses with
 * rbuild's own parser and keeps the rootless-containers rules: a Debian base,
 * a non-root USER, setuid bits stripped, and COPY sources that exist here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDockerfile } from '../builder/dockerfile/load.js';

const repo = new URL('..', import.meta.url).pathname;

describe('docs/rbuild.Dockerfile', async () => {
  const { stages } = await loadDockerfile(join(repo, 'docs/rbuild.Dockerfile'));
  const final = stages.stages.at(-1)!;
  const words = (i: { original: string }) => i.original.split(/\s+/);

  it('bases the image on Debian and ends as a non-root user', () => {
    for (const s of stages.stages) expect(s.from.original).toMatch(/bookworm/);
    const users = final.instructions.filter((i) => i.kind === 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(words(users.at(-1)!)[1]).not.toMatch(/^(root|0)(:|$)/);
  });

  it('strips setuid/setgid bits and gives the user a subordinate range', () => {
    const runs = final.instructions.filter((i) => i.kind === 'RUN').map((i) => i.original).join('\n');
    expect(runs).toContain('-perm /6000 -exec chmod a-s');
    expect(runs).toMatch(/\/etc\/subuid/);
    expect(runs).toMatch(/\/etc\/subgid/);
  });

  it('copies only sources that exist in the repository', () => {
    const build = stages.stages[0]!;
    for (const i of build.instructions.filter((x) => x.kind === 'COPY')) {
      const srcs = words(i).slice(1, -1).filter((w) => !w.startsWith('--'));
      for (const src of srcs) expect(existsSync(join(repo, src)), src).toBe(true);
    }
  });
});
