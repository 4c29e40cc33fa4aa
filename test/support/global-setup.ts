/**
 * Vitest global setup: one copy of the built app readable by the test users,
 * and one real registry (no auth) shared by the tests, holding library/busybox:latest.
 * Tests read them with `inject('appDir')` (`node <appDir>/dist/builder/cli/main.js`)
 * and `inject('registry')` (`127.0.0.1:PORT`).
 */
import type { TestProject } from 'vitest/node';
import { copyAppForTestUsers, removeAppCopy } from './unprivileged.js';
import { startTestRegistry } from './registry-server.js';
import { busyboxRootfsTar } from './base-images.js';
import { ociImageFromTar, pushLayoutToRegistry } from './oci-image-from-tar.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  // Every test may build FROM <registry>/library/busybox:latest.
  const layout = mkdtempSync(join(tmpdir(), 'rbuild-busybox-'));
  await ociImageFromTar(busyboxRootfsTar(), layout);
  await pushLayoutToRegistry(layout, `${registry.host}/library/busybox:latest`);
  rmSync(layout, { recursive: true, force: true });
  return async () => {
    await registry.stop();
    removeAppCopy(appDir);
  };
}
