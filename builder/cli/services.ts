/**
 * The real services behind a build: the local store, pulls and pushes
 * through the registry client, and — only inside the build namespace — the
 * snapshotter and the helper sandbox. Outside it, asking for either throws
 * NeedsNamespaceError so the CLI can re-execute itself there; only the
 * unmounted snapshotter (COPY/WORKDIR without a mount) works on both sides.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Descriptor } from '../../registry/oci/types.js';
import type { OciLayoutStore } from '../../registry/store/oci-layout-store.js';
import { resolveImage } from '../../registry/store/images.js';
import type { RegistryClient } from '../../registry/remote/client.js';
import type { LayerTap } from '../../registry/remote/pull.js';
import type { Snapshotter } from '../../snapshotter/snapshotter.js';
import { BuildError, NeedsNamespaceError } from '../build/errors.js';
import type { EventSink } from '../build/events.js';
import type { BuildDeps, ResolvedImage } from '../build/executor.js';
import type { IgnoreMatcher } from '../build/context.js';
import { loadDockerignore } from '../dockerfile/dockerignore.js';
import { resolveUserInRoot } from '../sandbox/passwd.js';
import { currentNamespace } from '../sandbox/userns.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { IsolationMode } from '../sandbox/isolation.js';
import type { RemoteCacheIo } from '../build/remote-cache.js';
import { parseReference } from '../../registry/reference.js';
import { validateManifest } from '../../registry/oci/validate.js';
import { useBaselineWasmCompiler } from './wasm-tiering.js';
import type { CompressedBlobs, CompressionChoice } from '../../registry/store/compressed-blobs.js';
import { openCompressedBlobs, pushCompression } from './export-compression.js';
import { blobEvents } from './progress-blobs.js';
import { reportCompression } from './progress-compress.js';

/** What a build gets from the outside world. */
export interface BuildServices {
  deps: BuildDeps;
  ignoreMatcher(contextDir: string, dockerfile: string): Promise<IgnoreMatcher>;
  /** Pushes an image (uncompressed layers compressed on the way out); returns the pushed manifest digest. */
  push(descriptor: Descriptor, ref: string): Promise<string>;
  /** Starts compressing a layer the build just committed, in the background (bounded), for a push to come. */
  precompress(layer: Descriptor): void;
  /** The registry side of --cache-to / --cache-from. */
  remoteCache: RemoteCacheIo;
  /** Closes pooled registry connections (idle keep-alive sockets would hold the process open). */
  close(): Promise<void>;
}

/** Creates the services for one build. `isolation: 'chroot'` needs no build namespace and forces the copy driver. */
export function buildServices(opts: {
  root: string;
  store: OciLayoutStore;
  emit: EventSink;
  signal?: AbortSignal;
  storageDriver?: string;
  isolation?: IsolationMode;
  /** How uncompressed layers leave the machine (push, --cache-to); default gzip. */
  compression?: CompressionChoice;
  /** --insecure-registry, --registries-config and --authfile of the build. */
  registry?: { insecure?: string[]; registriesConfig?: string; authFile?: string };
}): BuildServices {
  const { store, root } = opts;
  // The registry client, snapshotter and sandbox are imported on first use:
  // a fully cached rebuild needs none of them and should not pay for loading them.
  let client: Promise<RegistryClient> | undefined;
  const registry = (): Promise<RegistryClient> =>
    (client ??= Promise.all([import('../../registry/remote/default-client.js'), import('../../registry/auth/ci-env.js')]).then(
      async ([m, ci]) => {
        await useBaselineWasmCompiler();
        const r = opts.registry;
        return (await m.createDefaultClient({
          onCiCredential: (s) => opts.emit({ type: 'info', message: ci.describeCiCredential(s) }),
          ...(r?.insecure?.length && { insecure: r.insecure }),
          ...(r?.registriesConfig !== undefined && { registriesConfig: r.registriesConfig }),
          ...(r?.authFile !== undefined && { authFile: r.authFile }),
        })).client;
      },
    ));
  let snap: Promise<Snapshotter> | undefined;
  let sandbox: Sandbox | undefined;
  let unmounted: Snapshotter | undefined;
  const chroot = opts.isolation === 'chroot';
  // chroot isolation runs where no namespace can be made: snapshots are plain copies, steps chroot(2)ed into them.
  const inNamespace = (): boolean => chroot || currentNamespace() !== undefined;
  if (chroot && opts.storageDriver && opts.storageDriver !== 'copy') {
    throw new BuildError('UNSUPPORTED', `--storage-driver ${opts.storageDriver} needs mounts, which chroot isolation does not have`, 'use --storage-driver copy (the default with chroot isolation)');
  }
  const driver = chroot ? 'copy' : ((opts.storageDriver as 'overlay' | 'copy' | 'fuse-overlayfs' | undefined) ?? 'auto');

  const images = {
    async local(name: string): Promise<ResolvedImage | undefined> {
      try {
        const r = await resolveImage(store, name);
        return { name: r.name ?? name, descriptor: r.manifestDescriptor, manifest: r.manifest, config: r.config };
      } catch (err) {
        if ((err as { code?: string }).code === 'IMAGE_UNKNOWN') return undefined;
        throw err;
      }
    },
    async pull(name: string, signal?: AbortSignal, hooks?: { tapLayer?: LayerTap }): Promise<ResolvedImage> {
      const { pullImage } = await import('../../registry/remote/pull.js');
      const r = await pullImage(name, store, { client: await registry(), onProgress: blobEvents('pull', name, opts.emit), ...(signal ? { signal } : {}), ...(hooks?.tapLayer && { tapLayer: hooks.tapLayer }) });
      return { name: r.name, descriptor: r.descriptor, manifest: r.manifest, config: r.config };
    },
  };

  const deps: BuildDeps = {
    store,
    images,
    async snapshotter() {
      if (!inNamespace()) throw new NeedsNamespaceError();
      snap ??= import('../../snapshotter/create.js').then(({ createSnapshotter }) => createSnapshotter({ root, driver }));
      return snap;
    },
    async unmountedSnapshotter() {
      // In the namespace it is the snapshotter itself; outside, a store that never mounts, where the
      // files this process writes are root's (real root: ids are the same on both sides).
      if (inNamespace()) return { snapshotter: await deps.snapshotter() };
      const { openUnmountedSnapshotter } = await import('../../snapshotter/create.js');
      const uid = process.getuid?.() ?? 0;
      const hostRoot = uid === 0 ? undefined : { uid, gid: process.getgid?.() ?? 0 };
      unmounted ??= openUnmountedSnapshotter({ root, ...(hostRoot ? { hostRoot } : {}) });
      return { snapshotter: unmounted, ...(hostRoot ? { hostRoot } : {}) };
    },
    async sandbox() {
      if (!inNamespace()) throw new NeedsNamespaceError();
      if (!sandbox) {
        const tmpDir = join(root, 'tmp', 'sandbox');
        await mkdir(tmpDir, { recursive: true });
        const { HelperSandbox } = await import('../sandbox/helper-sandbox.js');
        sandbox = new HelperSandbox({ tmpDir, onWarning: (message) => opts.emit({ type: 'warning', message }), ...(chroot ? { isolation: 'chroot' as const } : {}) });
      }
      return sandbox;
    },
    resolveUser: (rootfs, user) => resolveUserInRoot(rootfs, user),
  };

  const choice: CompressionChoice = opts.compression ?? { format: 'gzip' };
  let blobs: Promise<CompressedBlobs> | undefined;
  const compressed = (): Promise<CompressedBlobs> => (blobs ??= openCompressedBlobs(store));
  // Background compression: one layer at a time (gzip of one layer already uses every core);
  // stopped when the build is done (a layer the push did not need is not worth finishing).
  let background: Promise<unknown> = Promise.resolve();
  const stopBackground = new AbortController();
  const backgroundSignal = opts.signal ? AbortSignal.any([opts.signal, stopBackground.signal]) : stopBackground.signal;

  const remoteCache: RemoteCacheIo = {
    async fetchManifest(ref, signal) {
      const c = await registry();
      try {
        const m = await c.getManifest(parseReference(ref), { accept: ['application/vnd.oci.image.manifest.v1+json'], ...(signal ? { signal } : {}) });
        return validateManifest(JSON.parse(m.bytes.toString('utf8')), m.mediaType);
      } catch (err) {
        // No cache yet (the first CI run): an empty import, not an error.
        if ((err as { status?: number }).status === 404) return undefined;
        throw err;
      }
    },
    async openBlob(ref, desc, signal) {
      return (await registry()).openBlob(parseReference(ref), desc, signal ? { signal } : {});
    },
    async push(descriptor, ref, signal) {
      const { pushImage } = await import('../../registry/remote/push.js');
      const s = signal ?? opts.signal;
      await pushImage(store, descriptor, ref, { client: await registry(), ...(s ? { signal: s } : {}) });
    },
    async publishLayer(layer, signal) {
      const s = signal ?? opts.signal;
      return (await compressed()).layer(layer, choice, s);
    },
  };

  return {
    deps,
    remoteCache,
    async ignoreMatcher(contextDir, dockerfile) {
      const loaded = await loadDockerignore(contextDir, dockerfile === '-' ? undefined : dockerfile);
      const m = loaded.matcher;
      return { ignores: (rel) => m.matches(rel), mayReinclude: (dir) => m.mayContainIncluded(dir) };
    },
    async close() {
      stopBackground.abort();
      if (client) await (await client).close();
    },
    async push(descriptor, ref) {
      const { pushImage } = await import('../../registry/remote/push.js');
      const r = await pushImage(store, descriptor, ref, {
        client: await registry(), onProgress: blobEvents('push', ref, opts.emit),
        ...reportCompression(pushCompression(await compressed(), choice), ref, opts.emit), ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return r.digest;
    },
    precompress(layer) {
      // Outside the namespace the build may still re-run inside it, which would compress the same layer.
      if (!inNamespace() || backgroundSignal.aborted) return;
      // A failure here is not the build's: the push compresses again and reports it.
      background = background.then(async () => (await compressed()).layer(layer, choice, backgroundSignal)).catch(() => undefined);
    },
  };
}
