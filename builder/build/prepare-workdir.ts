/**
 * The stage's WORKDIR on a write target: created when missing, owned by
 * USER (as BuildKit does), only looked at when it exists.
 */
import { lstat } from 'node:fs/promises';
import type { ImageConfig } from '../../registry/oci/types.js';
import { ensureDir } from './copy.js';
import { NeedsNamespaceError } from './errors.js';
import { resolveInRoot } from './resolve-in-root.js';
import { hostOwner, type WriteTarget } from './write-targets.js';
import type { BuildRun } from './build-run.js';
import type { ResolvedUser, StageState } from './build-types.js';

/** Makes sure the stage's working directory exists on `t`; returns it (image path). */
export async function prepareWorkdir(run: BuildRun, t: WriteTarget, state: StageState): Promise<string> {
  const wd = state.config.config?.WorkingDir || '/';
  if (t.locate) {
    // An existing workdir is only looked at (as on a mounted root): resolving it would copy it up.
    const found = t.locate(wd);
    if (found && (await lstat(found).catch(() => undefined))?.isDirectory()) return wd;
  }
  const owner = state.config.config?.User ? await workdirOwner(run, await t.userRoot(), state.config) : undefined;
  if (t.hostRoot && owner && (owner.uid !== 0 || owner.gid !== 0)) {
    // Only root's files can be written outside the namespace: fine while the directory exists.
    const st = await lstat(t.resolve ? t.resolve(wd, true) : resolveInRoot(t.root, wd)).catch(() => undefined);
    if (st?.isDirectory()) return wd;
    throw new NeedsNamespaceError();
  }
  await ensureDir(t.root, wd, hostOwner(t, owner ? { uid: owner.uid, gid: owner.gid } : undefined), t.resolve);
  return wd;
}

async function workdirOwner(run: BuildRun, root: string, config: ImageConfig): Promise<ResolvedUser | undefined> {
  const user = config.config?.User;
  if (!user) return undefined;
  return run.deps.resolveUser(root, user);
}
