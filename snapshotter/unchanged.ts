/**
 * Copy-ups that changed nothing. overlayfs copies a directory up to its upper
 * layer as soon as anything below it is written (a temp file made and removed,
 * the /etc/hosts mount point of a RUN), and a file as soon as its metadata is
 * set, even to the same values. BuildKit's overlay differ leaves such entries
 * out of the layer: a directory whose mode, owner and security.capability equal
 * the lower one's (its times are ignored), a file whose metadata, mtime and
 * content do. rbuild does the same (comparing every xattr, not only the
 * capability), keeps such a directory when something below it is in the layer
 * (as a parent, like docker and BuildKit), and drops the same entries from the
 * committed snapshot so that it is exactly what the layer extracts to.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { LowerView } from './lower-view.js';
import { nativeFs } from './native-fs.js';
import { isOverlayXattr, isWhiteoutDevice, OPAQUE_XATTR } from './overlay-form.js';

/** Whether two entries carry the same xattrs (overlay's own left out). */
export function sameXattrs(a: string, b: string): boolean {
  const nfs = nativeFs();
  const la = nfs.llistxattr(a).filter((n) => !isOverlayXattr(n)).sort();
  const lb = nfs.llistxattr(b).filter((n) => !isOverlayXattr(n)).sort();
  if (la.length !== lb.length) return false;
  for (let i = 0; i < la.length; i++) {
    if (la[i] !== lb[i]) return false;
    if (!nfs.lgetxattr(a, la[i]!)!.equals(nfs.lgetxattr(b, lb[i]!)!)) return false;
  }
  return true;
}

/** Whether two regular files hold the same bytes. */
export function sameContent(a: string, b: string): boolean {
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  try {
    const ba = Buffer.allocUnsafe(1 << 20);
    const bb = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const na = fs.readSync(fa, ba, 0, ba.length, null);
      let nb = 0;
      while (nb < na) {
        const k = fs.readSync(fb, bb, nb, na - nb, null);
        if (k === 0) break;
        nb += k;
      }
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (na === 0) return true;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

/**
 * Whether the upper entry `abs` (stat `st`) is a copy-up of `low` that changed
 * nothing a layer records. A file with other links is never one: a new hardlink
 * to it must find it in the layer.
 */
export function sameAsLower(abs: string, st: fs.Stats, low: { abs: string; st: fs.Stats } | undefined): boolean {
  if (!low) return false;
  const l = low.st;
  if (st.mode !== l.mode || st.uid !== l.uid || st.gid !== l.gid) return false;
  if (!sameXattrs(abs, low.abs)) return false;
  if (st.isDirectory()) return nativeFs().lgetxattr(abs, OPAQUE_XATTR)?.toString() !== 'y';
  if (st.nlink > 1 || st.size !== l.size || st.rdev !== l.rdev || st.mtimeMs !== l.mtimeMs) return false;
  if (st.isSymbolicLink()) return fs.readlinkSync(abs) === fs.readlinkSync(low.abs);
  return !st.isFile() || sameContent(abs, low.abs);
}

/** Seconds as utimes takes them, from a bigint stat's nanoseconds. */
const seconds = (ns: bigint): number => Number(ns) / 1e9;

/**
 * Removes from an upper directory in overlay form the copy-ups sameAsLower finds
 * (directories only once nothing is left below them), keeping the times of the
 * directories they are removed from: the upper then matches its layer exactly.
 */
export function dropUnchanged(upper: string, lower: LowerView, signal?: AbortSignal): void {
  const walk = (rel: string, dir: string): void => {
    signal?.throwIfAborted();
    let saved: fs.BigIntStats | undefined;
    const remove = (fn: () => void): void => {
      saved ??= fs.lstatSync(dir, { bigint: true });
      fn();
    };
    for (const name of fs.readdirSync(dir)) {
      const abs = join(dir, name);
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = fs.lstatSync(abs);
      if (isWhiteoutDevice(st)) continue;
      if (st.isDirectory()) {
        walk(path, abs);
        if (sameAsLower(abs, st, lower.lookup(path)) && fs.readdirSync(abs).length === 0) remove(() => fs.rmdirSync(abs));
      } else if (sameAsLower(abs, st, lower.lookup(path))) {
        remove(() => fs.unlinkSync(abs));
      }
    }
    if (saved) fs.lutimesSync(dir, seconds(saved.atimeNs), seconds(saved.mtimeNs));
  };
  walk('', upper);
}
