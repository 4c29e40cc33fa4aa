/** The built image as blobs: its config (labels, rootfs) and its manifest, OCI or Docker media types. */
import type { ContentStore } from '../../registry/content-store.js';
import type { Descriptor, ImageConfig, Manifest } from '../../registry/oci/types.js';
import * as cfg from '../image/config.js';
import { createdTime } from './build-run.js';
import type { BuildOptions, StageState } from './build-types.js';
import { dockerLayerType } from './commit-compression.js';

/** Writes the image config and manifest of a final state into the store (labels, annotations, format applied). */
export async function writeImage(store: ContentStore, state: StageState, opts: BuildOptions): Promise<{ descriptor: Descriptor; manifest: Manifest; config: ImageConfig }> {
  const docker = opts.format === 'docker';
  // The image's creation time is its last step's: a fully cached rebuild gives the same image, byte for byte.
  const created = state.config.history?.at(-1)?.created ?? createdTime(opts);
  let config: ImageConfig = { ...state.config, created, architecture: opts.platform.architecture, os: opts.platform.os };
  if (opts.labels.length) config = cfg.withLabels(config, opts.labels);
  const annotations = opts.annotations?.length ? Object.fromEntries(opts.annotations) : undefined;
  config = { ...config, rootfs: { type: 'layers', diff_ids: state.layers.map((l) => l.diffId) } };
  const configDesc = await store.writeBytes(Buffer.from(JSON.stringify(config)), docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json');
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: configDesc.mediaType, digest: configDesc.digest, size: configDesc.size },
    layers: state.layers.map((l) => ({ mediaType: docker ? dockerLayerType(l.mediaType) : l.mediaType, digest: l.digest, size: l.size })),
    ...(annotations ? { annotations } : {}),
  };
  const descriptor = await store.writeBytes(Buffer.from(JSON.stringify(manifest)), manifest.mediaType!);
  return { descriptor, manifest, config };
}
