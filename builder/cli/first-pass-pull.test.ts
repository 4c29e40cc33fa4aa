import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { NeedsNamespaceError } from '../build/errors.js';
import { openStore } from '../../registry/store/oci-layout-store.js';
import { resolveImage } from '../../registry/store/images.js';
import { runBuild, type BuildRequest } from './build-runner.js';

// Against the real registry of the global setup (it holds library/busybox:latest).
const registry = inject('registry');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A build request for `dockerfile` in a fresh context and store. */
function request(dockerfile: string): BuildRequest {
  const dir = mkdtempSync(join(tmpdir(), 'first-pass-pull-'));
  dirs.push(dir);
  const ctx = join(dir, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
  writeFileSync(join(ctx, 'a.txt'), 'a\n');
  return {
    context: ctx, dockerfile: join(ctx, 'Dockerfile'), tags: [], buildArgs: new Map(), noCache: false, pull: 'missing',
    labels: [], network: 'default', push: false, progress: 'quiet', quiet: true, format: 'oci', root: join(dir, 'store'),
  };
}

/** Runs the first pass (outside the build namespace). */
async function firstPass(req: BuildRequest): Promise<unknown> {
  const env = process.env.RBUILD_USERNS;
  delete process.env.RBUILD_USERNS;
  try {
    return await runBuild(req, () => undefined);
  } catch (err) {
    return err;
  } finally {
    if (env !== undefined) process.env.RBUILD_USERNS = env;
  }
}

describe('where a missing base image is pulled', () => {
  it('a stage that runs steps asks for the build namespace before downloading its base (pulled there, extracted as it streams)', async () => {
    const req = request(`FROM ${registry}/library/busybox:latest\nRUN true\n`);
    expect(await firstPass(req)).toBeInstanceOf(NeedsNamespaceError);
    const store = await openStore(req.root);
    await expect(resolveImage(store, `${registry}/library/busybox:latest`)).rejects.toMatchObject({ code: 'IMAGE_UNKNOWN' });
    expect((await store.entries()).length).toBe(0);
  });

  it('a stage of COPY and config steps pulls its base where it is (no namespace needed)', async () => {
    const req = request(`FROM ${registry}/library/busybox:latest\nCOPY a.txt /a.txt\nENV X=1\n`);
    const r = await firstPass(req);
    expect(r).not.toBeInstanceOf(Error);
    const store = await openStore(req.root);
    expect((await resolveImage(store, `${registry}/library/busybox:latest`)).manifest.layers.length).toBeGreaterThan(0);
  });
});
