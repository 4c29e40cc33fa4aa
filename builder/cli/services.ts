/**
 * The real services behind a build: the local store, pulls and pushes
 * through the registry client, and — only inside the build namespace — the
 * snapshotter and the helper sandbox. Outside it, asking for either throws
 * NeedsNamespaceError so the CLI can re-execute itself there.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Descriptor } from '../../registry/oci/types.js';
import type { OciLayoutStore } from '../../registry/store/oci-layout-store.js';
import { resolveImage } from '../../registry/store/images.js';
import { pullImage } from '../../registry/remote/pull.js';
import { pushImage } from '../../registry/remote/push.js';
import { createRegistryClient, type RegistryClient } from '../../registry/remote/client.js';
import { createSnapshotter } from '../../snapshotter/create.js';
import type { Snapshotter } from '../../snapshotter/snapshotter.js';
import { NeedsNamespaceError } from '../build/errors.js';
import type { EventSink } from '../build/events.js';
import type { BuildDeps, ResolvedImage } from '../build/executor.js';
import type { IgnoreMatcher } from '../build/context.js';
import { loadDockerignore } from '../dockerfile/dockerignore.js';
import { HelperSandbox } from '../sandbox/helper-sandbox.js';
import { resolveUserInRoot } from '../sandbox/passwd.js';
import { currentNamespace } from '../sandbox/userns.js';
import type { Sandbox } from '../sandbox/sandbox.js';

/** What a build gets from the outside world. */
export interface BuildServices {
  deps: BuildDeps;
  ignoreMatcher(contextDir: string, dockerfile: string): Promise<IgnoreMatcher>;
  push(descriptor: Descriptor, ref: string): Promise<string>;
}

/** Creates the services for one build. */
export function buildServices(opts: { root: string; store: OciLayoutStore; emit: EventSink; signal?: AbortSignal; storageDriver?: string }): BuildServices {
  const { store, root } = opts;
  let client: RegistryClient | undefined;
  const registry = (): RegistryClient => (client ??= createRegistryClient());
  let snap: Promise<Snapshotter> | undefined;
  let sandbox: Sandbox | undefined;
  const inNamespace = (): boolean => currentNamespace() !== undefined;

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
    async pull(name: string, signal?: AbortSignal): Promise<ResolvedImage> {
      const r = await pullImage(name, store, { client: registry(), ...(signal ? { signal } : {}) });
      return { name: r.name, descriptor: r.descriptor, manifest: r.manifest, config: r.config };
    },
  };

  const deps: BuildDeps = {
    store,
    images,
    async snapshotter() {
      if (!inNamespace()) throw new NeedsNamespaceError();
      snap ??= createSnapshotter({ root, driver: (opts.storageDriver as 'overlay' | 'copy' | 'fuse-overlayfs' | undefined) ?? 'auto' });
      return snap;
    },
    async sandbox() {
      if (!inNamespace()) throw new NeedsNamespaceError();
      if (!sandbox) {
        const tmpDir = join(root, 'tmp', 'sandbox');
        await mkdir(tmpDir, { recursive: true });
        sandbox = new HelperSandbox({ tmpDir, onWarning: (message) => opts.emit({ type: 'warning', message }) });
      }
      return sandbox;
    },
    resolveUser: (rootfs, user) => resolveUserInRoot(rootfs, user),
  };

  return {
    deps,
    async ignoreMatcher(contextDir, dockerfile) {
      const loaded = await loadDockerignore(contextDir, dockerfile === '-' ? undefined : dockerfile);
      const m = loaded.matcher;
      return { ignores: (rel) => m.matches(rel), mayReinclude: (dir) => m.mayContainIncluded(dir) };
    },
    async push(descriptor, ref) {
      const r = await pushImage(store, descriptor, ref, { client: registry(), ...(opts.signal ? { signal: opts.signal } : {}) });
      return r.digest;
    },
  };
}
