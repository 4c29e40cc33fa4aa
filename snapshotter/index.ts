/** The snapshotter package's public API. */
export type { ActiveSnapshot, BlobSink, Digest, DiffOptions, DriverName, LayerInfo, Snapshotter, UnpackLayer, UnpackReport } from './snapshotter.js';
export { createSnapshotter, detectDriver, probeDrivers, type DriverProbe } from './create.js';
export { SnapshotStore, type SnapshotterOptions } from './store.js';
export { chainId, chainIds, nextChainId } from './chain-id.js';
export { compressAndDigest, compressStream, LAYER_MEDIA_TYPES, type CompressOptions, type CompressedLayer } from './compress.js';
export { layerTar, type LayerTarOptions } from './layer-tar.js';
export { diffToLayer, layerFromDirectory } from './diff.js';
export { changesFromUpper, type Change } from './changes.js';
export { extractLayer, extractTar, type ExtractResult } from './extract.js';
export { DiffIdMismatchError, LayerSecurityError, SnapshotError, UnsupportedMediaTypeError } from './errors.js';
export { NativeAddonError } from './native-fs.js';
