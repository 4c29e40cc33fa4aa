/** The narrow interface each mount driver implements for the store. */
import type { DriverName } from '../snapshotter.js';

/** Directories of one active snapshot. */
export interface MountSpec {
  /** Lower layer directories in overlay form, top first (may be empty). */
  lowers: string[];
  /** Writable layer (overlay drivers); absent for read-only views. */
  upper?: string;
  work?: string;
  /** Where the file system appears. */
  merged: string;
}

/** A way to present layers as one file system. */
export interface MountDriver {
  readonly name: DriverName;
  /** Makes `spec.merged` show the lowers (plus upper when writable). */
  mount(spec: MountSpec, signal?: AbortSignal): Promise<void>;
  /** Undoes mount; no-op when not mounted. */
  unmount(merged: string): Promise<void>;
  /** Whether changes are recorded in `upper` in overlay form (else the store compares trees). */
  readonly recordsUpper: boolean;
}
