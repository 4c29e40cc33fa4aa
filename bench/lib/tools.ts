/**
 * The command lines of rbuild and its peers, as argv (pure: no effects), so
 * that the report can print exactly what was timed.
 */
import { join } from 'node:path';

/** A build request common to rbuild and buildah. */
export interface BuildSpec {
  tag: string;
  dockerfile: string;
  context: string;
  buildArgs?: Record<string, string>;
}

const buildArgFlags = (args: Record<string, string> = {}): string[] => Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);

/** rbuild's entry point in a copy of the built app. */
export const rbuildMain = (app: string): string => join(app, 'dist/builder/cli/main.js');

/** `rbuild build -t NAME --root STORE -f Dockerfile [--build-arg K=V] CONTEXT`. */
export function rbuildBuild(app: string, root: string, b: BuildSpec): string[] {
  return ['node', rbuildMain(app), 'build', '-t', b.tag, '--root', root, '-f', b.dockerfile, ...buildArgFlags(b.buildArgs), b.context];
}

/** `rbuild push NAME REF --root STORE`. */
export function rbuildPush(app: string, root: string, name: string, ref: string): string[] {
  return ['node', rbuildMain(app), 'push', name, ref, '--root', root];
}

/** `rbuild pull REF --root STORE`. */
export function rbuildPull(app: string, root: string, ref: string): string[] {
  return ['node', rbuildMain(app), 'pull', ref, '--root', root];
}

/** The snapshotter's layer bench (bench/layer-commit.ts): `commit DIR` gzips a layer of DIR. */
export function rbuildLayerCommit(app: string, dir: string): string[] {
  return ['node', join(app, 'dist/bench/layer-commit.js'), 'commit', dir];
}

/** The snapshotter's layer bench: `extract LAYER.tar.gz DIR` applies a gzip layer to an empty DIR. */
export function rbuildLayerExtract(app: string, archive: string, dest: string): string[] {
  return ['node', join(app, 'dist/bench/layer-commit.js'), 'extract', archive, dest];
}

/** A buildah store of its own: a directory holding storage.conf, graph/, run/, runtime/, data/. */
export interface BuildahStore {
  dir: string;
}

/** The storage.conf for a store: native overlay, graph and run roots inside the store. */
export function buildahStorageConf(store: BuildahStore): string {
  // rootless buildah ignores graphroot and reads rootless_storage_path instead.
  return [
    '[storage]',
    'driver = "overlay"',
    `runroot = "${join(store.dir, 'run')}"`,
    `graphroot = "${join(store.dir, 'graph')}"`,
    `rootless_storage_path = "${join(store.dir, 'graph')}"`,
    '',
  ].join('\n');
}

/** The environment buildah and skopeo get: this store's config, runtime dir and a fresh blob-info cache. */
export function buildahEnv(store: BuildahStore): Record<string, string> {
  return {
    CONTAINERS_STORAGE_CONF: join(store.dir, 'storage.conf'),
    XDG_RUNTIME_DIR: join(store.dir, 'runtime'),
    // containers/image keeps a blob-info cache under XDG_DATA_HOME: a shared one would turn pushes into mounts.
    XDG_DATA_HOME: join(store.dir, 'data'),
  };
}

const buildahGlobal = (store: BuildahStore): string[] => [
  'buildah',
  '--root',
  join(store.dir, 'graph'),
  '--runroot',
  join(store.dir, 'run'),
  '--storage-driver',
  'overlay',
];

/** `buildah bud --layers`, configured the fast way (native overlay, runc, host network). */
export function buildahBud(store: BuildahStore, b: BuildSpec): string[] {
  return [
    ...buildahGlobal(store),
    'bud',
    '--layers',
    '--runtime',
    'runc',
    '--network',
    'host',
    '--isolation',
    'oci',
    '--tls-verify=false',
    '-t',
    b.tag,
    '-f',
    b.dockerfile,
    ...buildArgFlags(b.buildArgs),
    b.context,
  ];
}

/** `buildah push` of an image in the store to a registry. */
export function buildahPush(store: BuildahStore, name: string, ref: string): string[] {
  return [...buildahGlobal(store), 'push', '--tls-verify=false', name, `docker://${ref}`];
}

/** `buildah push` of an image to an OCI layout directory (untimed: the source of skopeo's push). */
export function buildahExportOci(store: BuildahStore, name: string, layoutDir: string): string[] {
  return [...buildahGlobal(store), 'push', name, `oci:${layoutDir}:latest`];
}

/** `skopeo copy` of an OCI layout to a registry. */
export function skopeoPush(layoutDir: string, ref: string): string[] {
  return ['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${layoutDir}:latest`, `docker://${ref}`];
}

/** `skopeo copy` of a registry image into an empty OCI layout. */
export function skopeoPull(ref: string, layoutDir: string): string[] {
  return ['skopeo', 'copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${layoutDir}:latest`];
}

/** `tar -cf - -C DIR . | COMPRESSOR > /dev/null`: the layer-commit peers. */
export function tarCompress(dir: string, compressor: 'pigz' | 'gzip'): string[] {
  const z = compressor === 'pigz' ? 'pigz -p 2 -6' : 'gzip -6';
  return ['sh', '-c', `tar -cf - -C "$1" . | ${z} > /dev/null`, 'sh', dir];
}

/** `tar -xzf ARCHIVE -C DIR`: the extraction peer. */
export function tarExtract(archive: string, dest: string): string[] {
  return ['tar', '-xzf', archive, '-C', dest];
}
