/**
 * A read-only merged view of a chain of overlay-form layer directories,
 * computed the way overlayfs does (top layer wins; 0/0 character devices hide
 * a name; an opaque directory hides everything below it), without mounting.
 * The copy driver flattens and diffs against it; overlay folds long chains with it.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { nativeFs } from './native-fs.js';
import { isWhiteoutDevice, OPAQUE_XATTR } from './overlay-form.js';

/** Where a merged path comes from. */
export interface ViewEntry {
  /** Absolute path in the layer that provides it. */
  abs: string;
  /** Index into the layers (0 = top). */
  layer: number;
  st: fs.Stats;
}

/** lstat, or undefined when the path (or a directory on it) is missing. */
export function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** The merged view of layer directories given top first. */
export class LowerView {
  private readonly dirCache = new Map<string, number[]>();
  private readonly nfs = nativeFs();

  constructor(readonly layers: readonly string[]) {}

  private isOpaque(p: string): boolean {
    return this.nfs.lgetxattr(p, OPAQUE_XATTR)?.toString() === 'y';
  }

  /** Layer indices (top first) whose directory `rel` contributes to the merged directory; [] if not a directory. */
  dirLayers(rel: string): number[] {
    const hit = this.dirCache.get(rel);
    if (hit) return hit;
    const out: number[] = [];
    if (rel === '') {
      for (let i = 0; i < this.layers.length; i++) {
        out.push(i);
        if (this.isOpaque(this.layers[i]!)) break;
      }
    } else {
      const slash = rel.lastIndexOf('/');
      const parent = this.dirLayers(slash === -1 ? '' : rel.slice(0, slash));
      for (const i of parent) {
        const p = join(this.layers[i]!, rel);
        const st = lstatOrUndefined(p);
        if (!st) continue;
        if (!st.isDirectory()) break; // a whiteout or a non-directory hides everything below
        out.push(i);
        if (this.isOpaque(p)) break;
      }
    }
    this.dirCache.set(rel, out);
    return out;
  }

  /** The merged entry at `rel` (not `''`), or undefined when absent or whited out. */
  lookup(rel: string): ViewEntry | undefined {
    const slash = rel.lastIndexOf('/');
    for (const i of this.dirLayers(slash === -1 ? '' : rel.slice(0, slash))) {
      const abs = join(this.layers[i]!, rel);
      const st = lstatOrUndefined(abs);
      if (!st) continue;
      if (isWhiteoutDevice(st)) return undefined;
      return { abs, layer: i, st };
    }
    return undefined;
  }

  /**
   * The merged entries of directory `rel` by name, each from its top layer: one readdir per
   * contributing layer and one lstat per name. Walking a tree with this instead of lookup()
   * per path keeps a chain of hundreds of layers linear (lookup lstats every layer per path).
   */
  entries(rel: string): Map<string, ViewEntry> {
    const out = new Map<string, ViewEntry>();
    const seen = new Set<string>();
    for (const i of this.dirLayers(rel)) {
      const dir = rel === '' ? this.layers[i]! : join(this.layers[i]!, rel);
      for (const name of fs.readdirSync(dir)) {
        if (seen.has(name)) continue;
        seen.add(name);
        const abs = join(dir, name);
        const st = fs.lstatSync(abs);
        if (!isWhiteoutDevice(st)) out.set(name, { abs, layer: i, st });
      }
    }
    return out;
  }

  /** The names in merged directory `rel`, unsorted. */
  readdir(rel: string): string[] {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const i of this.dirLayers(rel)) {
      const dir = rel === '' ? this.layers[i]! : join(this.layers[i]!, rel);
      for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        if (seen.has(d.name)) continue;
        seen.add(d.name);
        if (d.isCharacterDevice() && isWhiteoutDevice(fs.lstatSync(join(dir, d.name)))) continue;
        out.push(d.name);
      }
    }
    return out;
  }
}
