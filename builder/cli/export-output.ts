/** Writes --output destinations: image archives from the store, the final file system from a view. */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { saveImage } from '../../registry/archive/save-image.js';
import type { OciLayoutStore } from '../../registry/store/oci-layout-store.js';
import { ociArchivePublisher } from './export-compression.js';
import { copyRootfsTo, destStream, isDirDest, tarRootfs, type OutputSpec } from '../build/output.js';

/** type=oci|docker: an archive of the built image (type=oci into a directory: an OCI layout). */
export async function exportArchive(store: OciLayoutStore, names: string[], o: Extract<OutputSpec, { type: 'oci' | 'docker' | 'tar' }>, signal?: AbortSignal): Promise<void> {
  const format = o.type === 'docker' ? 'docker' : 'oci';
  // OCI: layers gzip-compressed as BuildKit's oci exporter writes them; docker: plain tars, as docker save.
  const saveOpts = { ...(signal ? { signal } : {}), ...(format === 'oci' ? { publish: await ociArchivePublisher(store) } : {}) };
  if (format === 'oci' && o.dest !== '-' && (await isDirDest(o.dest))) {
    // An OCI layout directory is the OCI archive unpacked.
    const tmp = await mkdtemp(join(o.dest.replace(/\/+$/, '') + '.rbuild-'));
    try {
      const file = join(tmp, 'image.tar');
      await saveImage(store, names, createWriteStream(file), format, saveOpts);
      const { mkdir } = await import('node:fs/promises');
      await mkdir(o.dest, { recursive: true });
      await pipeline(createReadStream(file), tar.x({ cwd: o.dest, strict: true }));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    return;
  }
  const out = destStream(o.dest);
  await saveImage(store, names, out, format, saveOpts);
}

/** type=local|tar: the final file system. */
export async function exportRootfs(root: string, outputs: OutputSpec[], signal?: AbortSignal): Promise<void> {
  for (const o of outputs) {
    if (o.type === 'local') await copyRootfsTo(root, o.dest, signal);
    else if (o.type === 'tar') await tarRootfs(root, o.dest, signal);
  }
}
