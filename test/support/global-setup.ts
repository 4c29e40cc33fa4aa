/**
 * Vitest global setup: one copy of the built app readable by the test users,
 * and one real registry (no auth) shared by the tests.
 * Tests read them with `inject('appDir')` (`node <appDir>/dist/builder/cli/main.js`)
 * and `inject('registry')` (`127.0.0.1:PORT`).
 */
import type { TestProject } from 'vitest/node';
import { copyAppForTestUsers, removeAppCopy } from './unprivileged.js';
import { startTestRegistry } from './registry-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    appDir: string;
    registry: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const appDir = copyAppForTestUsers();
  project.provide('appDir', appDir);
  const registry = await startTestRegistry();
  project.provide('registry', registry.host);
  return async () => {
    await registry.stop();
    removeAppCopy(appDir);
  };
}
