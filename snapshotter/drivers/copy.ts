/**
 * The copy driver (vfs-like): a plain copy of the merged lower chain for each
 * snapshot. Slow to prepare, but needs no mount at all; the store diffs it by
 * comparing against the lower view (changes.ts).
 */
import * as fs from 'node:fs';
import { flattenView } from '../copy-tree.js';
import { LowerView } from '../lower-view.js';
import type { MountDriver, MountSpec } from './driver.js';

/** The copy driver. */
export const copyDriver: MountDriver = {
  name: 'copy',
  recordsUpper: false,
  async mount(spec: MountSpec, signal?: AbortSignal): Promise<void> {
    fs.mkdirSync(spec.merged, { recursive: true });
    flattenView(new LowerView(spec.lowers), spec.merged, signal);
  },
  async unmount(): Promise<void> {
    // Nothing is mounted: the tree is removed with the snapshot.
  },
};
