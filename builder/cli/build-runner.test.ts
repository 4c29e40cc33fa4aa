import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NeedsNamespaceError } from '../build/errors.js';
import { contextHashFile } from '../build/context.js';
import { runBuild, type BuildRequest } from './build-runner.js';

describe('runBuild outside the build namespace', () => {
  it('saves the context hashes before asking for the namespace, for the re-executed build to reuse', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-'));
    const ctx = join(dir, 'ctx');
    mkdirSync(join(ctx, 'files'), { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(join(ctx, 'files', `f${i}`), `file ${i}\n`);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY files/ /files/\nRUN true\n');
    const root = join(dir, 'store');
    const req: BuildRequest = {
      context: ctx, dockerfile: join(ctx, 'Dockerfile'), tags: [], buildArgs: new Map(), noCache: false, pull: 'never',
      labels: [], network: 'default', push: false, progress: 'quiet', quiet: true, format: 'oci', root,
    };
    const env = process.env.RBUILD_USERNS;
    delete process.env.RBUILD_USERNS;
    try {
      await expect(runBuild(req, () => undefined)).rejects.toBeInstanceOf(NeedsNamespaceError);
    } finally {
      if (env !== undefined) process.env.RBUILD_USERNS = env;
    }
    const saved = JSON.parse(readFileSync(contextHashFile(join(root, 'cache'), ctx), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(saved).sort()).toEqual(Array.from({ length: 20 }, (_, i) => join(ctx, 'files', `f${i}`)).sort());
  });
});
