/**
 * How a layer looks on disk in rbuild's store ("overlay form"), whatever the
 * driver: deletions are 0/0 character devices, opaque directories carry the
 * `user.overlay.opaque` xattr. rbuild always mounts overlay with `userxattr`
 * (also as real root) so one scheme fits every case.
 */
import type { Stats } from 'node:fs';

/** Tar whiteout prefix: `.wh.NAME` deletes NAME from the layers below. */
export const WHITEOUT_PREFIX = '.wh.';
/** Tar opaque marker: `.wh..wh..opq` hides everything below in its directory. */
export const OPAQUE_MARKER = '.wh..wh..opq';
/** The opaque-directory xattr overlay reads under `userxattr`. */
export const OPAQUE_XATTR = 'user.overlay.opaque';
/** Character device with device number 0/0. */
export const S_IFCHR = 0o020000;

/** Whether a stat result is an overlay whiteout (a 0/0 character device). */
export function isWhiteoutDevice(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Whether an xattr name belongs to overlay's own bookkeeping (never part of a layer's content). */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('user.overlay.') || name.startsWith('trusted.overlay.') || name.startsWith('user.fuseoverlayfs.');
}
