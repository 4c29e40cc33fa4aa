/**
 * The changes of an active snapshot, in tar order (each directory before its
 * contents, siblings sorted by name bytes): from an overlay upper directory,
 * or by comparing a copy-driver tree against its lower view.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { LowerView } from './lower-view.js';
import { nativeFs } from './native-fs.js';
import { isOverlayXattr, isWhiteoutDevice, OPAQUE_MARKER, WHITEOUT_PREFIX } from './overlay-form.js';

/** One change: an entry to write, a deletion, or "this directory hides everything below". */
export type Change =
  | { kind: 'entry'; path: string; abs: string; st: fs.Stats }
  | { kind: 'whiteout'; path: string }
  | { kind: 'opaque'; path: string };

/** Opaque markers of kernel overlay (userxattr and privileged) and fuse-overlayfs. */
export const OPAQUE_XATTRS = ['user.overlay.opaque', 'trusted.overlay.opaque', 'user.fuseoverlayfs.opaque'];
/** fuse-overlayfs's extra opaque marker: a 0/0 device named `.wh..opq`. */
export const FUSE_OPAQUE_DEVICE = '.wh..opq';

/**
 * A string that sorts as the name's UTF-8 bytes do: the name itself when it is
 * ASCII (the common case, no allocation per comparison), else its bytes as latin1.
 */
function byteOrderKey(name: string): string {
  return /^[\x00-\x7f]*$/.test(name) ? name : Buffer.from(name, 'utf8').toString('latin1');
}

function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function join2(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

/** Changes recorded in an overlay upper dir (kernel overlay or fuse-overlayfs form). */
export function changesFromUpper(upper: string, signal?: AbortSignal): Change[] {
  const nfs = nativeFs();
  const out: Change[] = [];
  // One llistxattr, and a read only of the markers that are there (most directories have none).
  const isOpaque = (p: string): boolean => nfs.llistxattr(p).some((x) => OPAQUE_XATTRS.includes(x) && nfs.lgetxattr(p, x)?.toString() === 'y');
  const walk = (rel: string, dir: string): void => {
    signal?.throwIfAborted();
    const names = fs.readdirSync(dir);
    // fuse-overlayfs without mknod rights writes `.wh.` files instead of devices.
    // fuse-overlayfs also marks opaque dirs with a `.wh..opq` device.
    const opaqueHere = names.includes(OPAQUE_MARKER) || names.includes(FUSE_OPAQUE_DEVICE);
    if (opaqueHere && rel !== '' && !isOpaque(dir)) out.push({ kind: 'opaque', path: rel });
    const items: Array<{ name: string; key: string; wh: boolean }> = [];
    for (const n of names) {
      if (n === OPAQUE_MARKER || n === FUSE_OPAQUE_DEVICE) continue;
      const wh = n.startsWith(WHITEOUT_PREFIX);
      const name = wh ? n.slice(WHITEOUT_PREFIX.length) : n;
      items.push({ name, key: byteOrderKey(name), wh });
    }
    // Keys made once per name: comparing fresh Buffers cost two allocations per comparison.
    items.sort(byKey);
    for (const { name, wh } of items) {
      const path = join2(rel, name);
      if (wh) {
        out.push({ kind: 'whiteout', path });
        continue;
      }
      const abs = join(dir, name);
      const st = fs.lstatSync(abs);
      if (isWhiteoutDevice(st)) {
        out.push({ kind: 'whiteout', path });
      } else if (st.isDirectory()) {
        out.push({ kind: 'entry', path, abs, st });
        if (isOpaque(abs)) out.push({ kind: 'opaque', path });
        walk(path, abs);
      } else {
        out.push({ kind: 'entry', path, abs, st });
      }
    }
  };
  walk('', upper);
  // The root directory itself is not part of a layer (docker and buildkit leave it out).
  return out;
}

function sameXattrs(a: string, b: string): boolean {
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

function sameContent(a: string, b: string): boolean {
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
 * Whether `cur` differs from the lower entry. Metadata first (type, mode,
 * owner, size, mtime, link target, device, xattrs); content only when all of
 * that matches but the file's ctime says it was touched after the copy.
 */
function differs(curAbs: string, cur: fs.Stats, low: { abs: string; st: fs.Stats }, since: bigint): boolean {
  const l = low.st;
  if ((cur.mode & 0o170000) !== (l.mode & 0o170000)) return true;
  if (cur.mode !== l.mode || cur.uid !== l.uid || cur.gid !== l.gid) return true;
  if (cur.isDirectory()) return cur.mtimeMs !== l.mtimeMs || !sameXattrs(curAbs, low.abs);
  if (cur.size !== l.size || cur.mtimeMs !== l.mtimeMs || cur.rdev !== l.rdev) return true;
  if (cur.isSymbolicLink()) return fs.readlinkSync(curAbs) !== fs.readlinkSync(low.abs);
  const ctimeNs = BigInt(Math.floor(cur.ctimeMs * 1e6));
  if (ctimeNs < since) return false; // untouched since the copy: the metadata match is conclusive
  if (!sameXattrs(curAbs, low.abs)) return true;
  return cur.isFile() && !sameContent(curAbs, low.abs);
}

/**
 * Changes of a copy-driver tree against the lower view it was copied from.
 * `since` (ns since the epoch) is when the copy finished, minus a margin for
 * the kernel's coarse clock: files whose ctime is older were not touched.
 */
export function changesFromCopy(tree: string, view: LowerView, since: bigint, signal?: AbortSignal): Change[] {
  const out: Change[] = [];
  const addAll = (rel: string, dir: string): void => {
    for (const { name } of fs.readdirSync(dir).map((name) => ({ name, key: byteOrderKey(name) })).sort(byKey)) {
      const path = join2(rel, name);
      const abs = join(dir, name);
      const st = fs.lstatSync(abs);
      out.push({ kind: 'entry', path, abs, st });
      if (st.isDirectory()) addAll(path, abs);
    }
  };
  const walk = (rel: string, dir: string): void => {
    signal?.throwIfAborted();
    const names = fs.readdirSync(dir);
    const here = new Set(names);
    const items = names.map((name) => ({ name, key: byteOrderKey(name), gone: false }));
    const lower = view.entries(rel); // [] for a directory the lower chain does not have
    for (const n of lower.keys()) if (!here.has(n)) items.push({ name: n, key: byteOrderKey(n), gone: true });
    items.sort(byKey);
    for (const { name, gone } of items) {
      const path = join2(rel, name);
      if (gone) {
        out.push({ kind: 'whiteout', path });
        continue;
      }
      const abs = join(dir, name);
      const st = fs.lstatSync(abs);
      const low = lower.get(name);
      if (!low) {
        out.push({ kind: 'entry', path, abs, st });
        if (st.isDirectory()) addAll(path, abs);
        continue;
      }
      if (st.isDirectory() && low.st.isDirectory()) {
        const mark = out.length;
        const changed = differs(abs, st, low, since);
        if (changed) out.push({ kind: 'entry', path, abs, st });
        walk(path, abs);
        // A changed child needs its parent directory in the layer too (as docker's diff does).
        if (!changed && out.length > mark) out.splice(mark, 0, { kind: 'entry', path, abs, st });
        continue;
      }
      if (st.isDirectory()) {
        // A directory replacing a non-directory: the lower entry is simply hidden.
        out.push({ kind: 'entry', path, abs, st });
        addAll(path, abs);
        continue;
      }
      if (differs(abs, st, low, since)) out.push({ kind: 'entry', path, abs, st });
    }
  };
  walk('', tree);
  return out;
}
