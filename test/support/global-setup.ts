/**
 * Vitest global setup: one copy of the built app readable by the test users.
 * Tests read it with `inject('appDir')` (`node <appDir>/dist/builder/cli/main.js`).
 */
import type { TestProject } from 'vitest/node';
import { copyAppForTestUsers, removeAppCopy } from './unprivileged.js';

declare module 'vitest' {
  export interface ProvidedContext {
    appDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  const appDir = copyAppForTestUsers();
  project.provide('appDir', appDir);
  return () => removeAppCopy(appDir);
}
