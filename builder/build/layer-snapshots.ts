/**
 * Layers as snapshots: unpacking a state's layers, a writable snapshot whose
 * changes become a layer, an empty one (COPY --link), a read-only view.
 */
import { randomBytes } from 'node:crypto';
import { chainIds } from '../../snapshotter/chain-id.js';
import type { Snapshotter } from '../../snapshotter/snapshotter.js';
import type { LayerRef } from './cache.js';
import type { BuildRun } from './build-run.js';
import type { StageState } from './build-types.js';
import { commitDiffOptions } from './commit-compression.js';

/** Makes sure every layer of a state is unpacked; returns the top chain ID. */
export async function ensureSnapshots(run: BuildRun, layers: LayerRef[], using?: Snapshotter): Promise<`sha256:${string}` | undefined> {
  const { deps, signal } = run;
  if (layers.length === 0) return undefined;
  const snap = using ?? (await deps.snapshotter());
  const chains = chainIds(layers.map((l) => l.diffId));
  for (let i = 0; i < layers.length; i++) {
    if (await snap.exists(chains[i]!)) continue;
    const l = layers[i]!;
    await snap.unpack({ chainId: chains[i]!, parent: i > 0 ? chains[i - 1] : undefined, diffId: l.diffId, mediaType: l.mediaType, open: () => deps.store.read(l.digest, signal) }, signal);
  }
  return chains[chains.length - 1];
}

/** The changes of active snapshot `key` as a layer in the store (uncompressed unless the build chose a format; see commit-compression); undefined when none. */
export async function diffLayer(run: BuildRun, snap: Snapshotter, key: string): Promise<LayerRef | undefined> {
  const { deps, opts, signal } = run;
  const info = await snap.diff(key, deps.store, commitDiffOptions(opts), signal);
  return info ? { mediaType: info.mediaType, digest: info.digest as `sha256:${string}`, size: info.size, diffId: info.diffId } : undefined;
}

/** Commits active snapshot `key` as the chain of `below` plus `layer`, so later steps find it unpacked. */
export async function commitLayer(run: BuildRun, snap: Snapshotter, key: string, below: LayerRef[], layer: LayerRef): Promise<void> {
  const chain = chainIds([...below.map((l) => l.diffId), layer.diffId]);
  await snap.commit(key, chain[chain.length - 1]!, run.signal);
}

/** Runs `work` on a writable snapshot of `state`, then turns its changes into a layer. */
export async function withSnapshot(run: BuildRun, state: StageState, work: (root: string) => Promise<void>): Promise<LayerRef | undefined> {
  const parent = await ensureSnapshots(run, state.layers);
  const snap = await run.deps.snapshotter();
  const key = `build-${randomBytes(8).toString('hex')}`;
  const active = await snap.prepare(key, parent, run.signal);
  try {
    await work(active.root);
    const layer = await diffLayer(run, snap, key);
    if (layer) await commitLayer(run, snap, key, state.layers, layer);
    return layer;
  } finally {
    await snap.remove(key);
  }
}

/** Runs `work` on an empty writable snapshot and returns its content as a layer; not committed (its chain is not a full root). */
export async function withEmptySnapshot(run: BuildRun, work: (root: string) => Promise<void>): Promise<LayerRef | undefined> {
  const snap = await run.deps.snapshotter();
  const key = `link-${randomBytes(8).toString('hex')}`;
  const active = await snap.prepare(key, undefined, run.signal);
  try {
    await work(active.root);
    return await diffLayer(run, snap, key);
  } finally {
    await snap.remove(key);
  }
}

/** Runs `work` on a read-only view of `layers`, removed afterwards. */
export async function withView<T>(run: BuildRun, layers: LayerRef[], work: (root: string) => Promise<T>): Promise<T> {
  const view = await openView(run, layers);
  try {
    return await work(view.root);
  } finally {
    await view.release();
  }
}

/** A read-only view of `layers`, held until release. */
export async function openView(run: BuildRun, layers: LayerRef[]): Promise<{ root: string; release(): Promise<void> }> {
  const parent = await ensureSnapshots(run, layers);
  const snap = await run.deps.snapshotter();
  const key = `view-${randomBytes(8).toString('hex')}`;
  const view = await snap.view(key, parent, run.signal);
  return { root: view.root, release: () => snap.remove(key) };
}
