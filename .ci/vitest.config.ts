import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  test: {
    include: ['builder/**/*.test.ts', 'registry/**/*.test.ts', 'snapshotter/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    root: fileURLToPath(new URL('..', import.meta.url)),
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
