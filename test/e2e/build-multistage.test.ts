/** Acceptance 2 of issue 6: a multi-stage build with COPY --from, --target, build args and parallel stages. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../support/unprivileged.js';
import { buildContext, busybox, events, rbuild } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

/** Runs `cat FILE` in the built image through the store: exports it as a tar and reads the file. */
function fileInImage(store: string, ref: string, path: string, work: string): string {
  const out = join(tempDir('rbuild-ms-read-'), `export-${Math.random().toString(36).slice(2)}`);
  execFileSync('skopeo', ['copy', '--quiet', `oci:${join(store, "oci")}:docker.io/library/${ref}`, `oci:${out}:x`]);
  const bundle = `${out}-bundle`;
  execFileSync('umoci', ['unpack', '--rootless', '--image', `${out}:x`, bundle]);
  return readFileSync(join(bundle, 'rootfs', path), 'utf8');
}

describe('multi-stage builds', () => {
  let work: string, store: string, ctx: string;
  beforeAll(() => {
    ({ work, store, ctx } = buildContext('rbuild-ms-', {
      Dockerfile: [
        `ARG BASE=${busybox()}`,
        'FROM $BASE AS gen-a',
        'ARG FLAVOR=plain',
        'RUN sleep 2 && echo "a:$FLAVOR" > /a.txt',
        'FROM $BASE AS gen-b',
        'RUN sleep 2 && echo b > /b.txt',
        'FROM $BASE AS unused',
        'RUN exit 1',
        'FROM $BASE AS final',
        'COPY --from=gen-a /a.txt /out/',
        'COPY --from=gen-b /b.txt /out/',
        'RUN cat /out/a.txt /out/b.txt > /out/all.txt',
        '',
      ].join('\n'),
    }));
  });

  it('runs independent stages in parallel, skips unneeded ones, and COPY --from brings their files', async () => {
    const r = await rbuild(['build', '-t', 'ms:1', '--root', store, '--progress=json', '--build-arg', 'FLAVOR=spicy', ctx]);
    expect(r.stderr).not.toMatch(/"type":"result".*"error"/);
    expect(r.code).toBe(0);
    const ev = events(r.stderr);
    const at = (type: string, step: string) => Date.parse(String(ev.find((e) => e.type === type && e.step === step)?.time));
    // Overlap: each generator started before the other finished.
    expect(at('step-start', 'gen-a/2')).toBeLessThan(at('step-done', 'gen-b/1'));
    expect(at('step-start', 'gen-b/1')).toBeLessThan(at('step-done', 'gen-a/2'));
    expect(ev.some((e) => e.stage === 'unused')).toBe(false);
    expect(fileInImage(store, 'ms:1', 'out/all.txt', work)).toBe('a:spicy\nb\n');
  });

  it('--target builds a stage and only what it needs', async () => {
    const r = await rbuild(['build', '-t', 'ms:a', '--root', store, '--progress=json', '--target', 'gen-a', '--build-arg', 'FLAVOR=mild', ctx]);
    expect(r.code).toBe(0);
    const ev = events(r.stderr);
    expect(new Set(ev.filter((e) => e.stage).map((e) => e.stage))).toEqual(new Set(['gen-a']));
    expect(fileInImage(store, 'ms:a', 'a.txt', work)).toBe('a:mild\n');
  });

  it('a failing stage fails the build with its error', async () => {
    const r = await rbuild(['build', '--root', store, '--progress=plain', '--target', 'unused', ctx]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/exit 1.*code 1|code 1/);
  });
});

// BuildKit expands --from (and FROM) with the stage's ARGs before matching a stage name, so
// stages reached only through a variable are needed stages, not pruned ones.
describe('stages named through variables', () => {
  /** Builds `lines` as `tag` in a fresh store and expects success: the stages that ran, and the image's files. */
  async function buildStages(prefix: string, tag: string, lines: string[]) {
    const { work, store, ctx } = buildContext(prefix, { Dockerfile: [...lines, ''].join('\n') });
    const r = await rbuild(['build', '-t', tag, '--root', store, '--progress=json', ctx]);
    expect(r.stderr).not.toMatch(/"type":"result".*"error"/);
    expect(r.code).toBe(0);
    return { stages: new Set(events(r.stderr).filter((e) => e.stage).map((e) => e.stage)), file: (path: string) => fileInImage(store, tag, path, work) };
  }

  it('builds the stages COPY --from=$VAR, RUN --mount from=$VAR and FROM $VAR name, and only those', async () => {
    const b = await buildStages('rbuild-ms-var-', 'msvar:1', [
      `ARG BASE=${busybox()}`,
      'ARG SRC=gen',
      'ARG PARENT=final',
      'FROM $BASE AS gen',
      'RUN echo gen > /g.txt',
      'FROM $BASE AS seed',
      'RUN mkdir /seed && echo seed > /seed/s.txt',
      'FROM $BASE AS mnt',
      'RUN echo mnt > /m.txt',
      'FROM $BASE AS unused',
      'RUN exit 1',
      'FROM $BASE AS final',
      'ARG SRC',
      'ARG M=mnt',
      'ARG SEED=seed',
      'COPY --from=$SRC /g.txt /out/',
      'RUN --mount=type=bind,from=${M},target=/m --mount=type=cache,id=var-seed,from=$SEED,source=/seed,target=/c cat /m/m.txt /c/s.txt > /out/mounted.txt',
      'FROM ${PARENT}',
      'RUN cat /out/g.txt /out/mounted.txt > /out/all.txt',
    ]);
    expect(b.stages).toEqual(new Set(['gen', 'seed', 'mnt', 'final', '5']));
    expect(b.file('out/all.txt')).toBe('gen\nmnt\nseed\n');
  });

  it('builds the stages that the ONBUILD triggers of a base stage name', async () => {
    const b = await buildStages('rbuild-ms-onb-', 'msonb:1', [
      `FROM ${busybox()} AS gen`,
      'RUN echo gen > /g.txt',
      `FROM ${busybox()} AS base`,
      'ONBUILD COPY --from=gen /g.txt /from-trigger.txt',
      'FROM base',
      'RUN cat /from-trigger.txt > /out.txt',
    ]);
    expect(b.stages).toEqual(new Set(['gen', 'base', '2']));
    expect(b.file('out.txt')).toBe('gen\n');
  });
});
