/**
 * Typed loader of the `rbuild_fs` N-API addon (native/src/fsops.c): xattrs,
 * mknod, mount and umount2, which Node's fs lacks, createFile, the
 * extractor's one-call small file, and createFileQueue, which creates small
 * files on worker threads. Calls are synchronous and
 * throw Node-style errors (`code` = errno name, `errno`, `syscall`, `path`).
 * Also loads `rbuild_gzip` (native/src/gzip.c), the libdeflate compressor.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's functions. */
export interface NativeFs {
  /** The xattr's value, or null when the file has no such attribute. */
  lgetxattr(path: string, name: string): Buffer | null;
  /** Names of the xattrs of a path (not following symlinks). */
  llistxattr(path: string): string[];
  /** Sets an xattr; flags are XATTR_CREATE (1) / XATTR_REPLACE (2). */
  lsetxattr(path: string, name: string, value: Buffer | string, flags?: number): void;
  /** Removes an xattr. */
  lremovexattr(path: string, name: string): void;
  /** mknod(2); `dev` is makedev(major, minor) (0 for overlay whiteouts). */
  mknod(path: string, mode: number, dev: number): void;
  /** mount(2). */
  mount(source: string, target: string, fstype: string, flags: number, data: string | null): void;
  /** umount2(2). */
  umount2(target: string, flags: number): void;
  /**
   * A new regular file in one call: open(O_CREAT|O_EXCL|O_NOFOLLOW, mode & 0777),
   * write all of data, fchown when setOwner, fchmod(chmodTo) when chmodTo >= 0,
   * atime and mtime set to `mtime` seconds, close. Throws EEXIST when something is in the way.
   */
  createFile(path: string, data: Buffer, mode: number, uid: number, gid: number, mtime: number, setOwner: boolean, chmodTo: number): void;
  /**
   * A queue whose `threads` threads create files below `root` (a directory,
   * opened once): see FileQueue. Close it when done.
   */
  createFileQueue(root: string, threads: number): FileQueue;
  /** The addon's interface version. */
  readonly abiVersion: number;
}

/** Numbers per record in FileQueue.submit's `meta`: mode, uid, gid, mtime, setOwner (0/1), chmodTo (-1: none). */
export const FILE_QUEUE_META = 6;

/** A record of a submitted batch that failed (the others were created). */
export interface FileQueueFailure {
  batch: number;
  /** The record's index in its batch. */
  index: number;
  /** errno name: EEXIST when something is in the way, ELOOP/EXDEV when the path met a symlink or left root. */
  code: string;
  errno: number;
  syscall: string;
}

/** Batches finished since the last report, and their failed records. */
export interface FileQueueReport {
  done: number[];
  failures: FileQueueFailure[];
}

/**
 * Small files created off the JS thread, each exactly as createFile does
 * (O_CREAT|O_EXCL|O_NOFOLLOW, write, fchown, fchmod, futimens), opened with
 * openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) below root where the kernel has
 * it (`beneath`), so that no component may be a symlink. Files of different
 * batches are created in any order: a caller submits only files whose parent
 * directories exist and that no other pending record names.
 */
export interface FileQueue {
  /**
   * Copies a batch (paths relative to root, contents, FILE_QUEUE_META numbers
   * per record) and returns its id; blocks while 8 batches or 32 MiB are pending.
   */
  submit(rels: string[], bodies: Buffer[], meta: Float64Array): number;
  /** Batches finished since the last report; never blocks. */
  poll(): FileQueueReport;
  /** Waits until every submitted batch is done; reports them. */
  drain(): FileQueueReport;
  /** Drops the batches not started, waits for the running ones, ends the threads; idempotent. */
  close(): void;
  /** Whether openat2 guards every path component (false on kernels before 5.6 or under seccomp filters). */
  readonly beneath: boolean;
}

/** The addon version this code was written for; a mismatch means a stale native build. */
const ABI_VERSION = 3;

/** Raised when the addon is missing or stale. */
export class NativeAddonError extends Error {
  readonly code = 'NATIVE_ADDON_MISSING';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NativeAddonError';
  }
}

/** The package root: the nearest ancestor of this file holding package.json (works from source and from dist/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new NativeAddonError('cannot find the rbuild package root (package.json with native/)');
    dir = up;
  }
}

let cached: NativeFs | undefined;

/** Loads the addon once; throws NativeAddonError with a fix when it is not built. */
export function nativeFs(): NativeFs {
  if (cached) return cached;
  const root = packageRoot();
  const file = join(root, 'native/build/Release/rbuild_fs.node');
  if (!existsSync(file)) {
    throw new NativeAddonError(`${file} is missing: build it with \`npm run install\` (node-gyp) in ${root}`);
  }
  let mod: NativeFs;
  try {
    mod = createRequire(import.meta.url)(file) as NativeFs;
  } catch (cause) {
    throw new NativeAddonError(`cannot load ${file}: ${(cause as Error).message}`, { cause });
  }
  if (mod.abiVersion !== ABI_VERSION) {
    throw new NativeAddonError(`${file} has interface version ${mod.abiVersion}, expected ${ABI_VERSION}: rebuild it`);
  }
  cached = mod;
  return mod;
}

/** mount(2) flags used by the drivers. */
export const MS_RDONLY = 1;
/** umount2 flag: detach lazily (busy mounts). */
export const MNT_DETACH = 2;
/** lsetxattr flag: fail if the attribute exists. */
export const XATTR_CREATE = 1;

/** The `rbuild_gzip` addon (native/src/gzip.c): libdeflate on libuv's thread pool. */
export interface NativeGzip {
  /** One complete gzip member of `input` at `level` (0-12), compressed on a pool thread. */
  gzipMember(input: Uint8Array, level: number): Promise<Buffer>;
  /** The libdeflate version the addon was built against. */
  readonly libdeflateVersion: string;
  /** The addon's interface version. */
  readonly abiVersion: number;
}

/** The gzip addon version this code was written for. */
const GZIP_ABI_VERSION = 1;

let cachedGzip: NativeGzip | undefined;

/**
 * Loads the gzip addon once; throws NativeAddonError with a fix when it is not
 * built or was built without libdeflate. There is deliberately no zlib fallback:
 * a silently 2-3x slower commit is worse than a clear error at the first layer.
 */
export function nativeGzip(): NativeGzip {
  if (cachedGzip) return cachedGzip;
  const root = packageRoot();
  const file = join(root, 'native/build/Release/rbuild_gzip.node');
  const fix = `install libdeflate-dev (\`sudo bash .ci/setup\` or \`apt-get install libdeflate-dev\`), then \`npm run install\` in ${root}`;
  if (!existsSync(file)) throw new NativeAddonError(`${file} is missing: ${fix}`);
  let mod: NativeGzip & { missing?: string };
  try {
    mod = createRequire(import.meta.url)(file) as NativeGzip & { missing?: string };
  } catch (cause) {
    // Typically `libdeflate.so.0: cannot open shared object file` (libdeflate0 removed after the build).
    throw new NativeAddonError(`cannot load ${file}: ${(cause as Error).message}; ${fix}`, { cause });
  }
  if (mod.abiVersion !== GZIP_ABI_VERSION) {
    throw new NativeAddonError(`${file} has interface version ${mod.abiVersion}, expected ${GZIP_ABI_VERSION}: rebuild it with \`npm run install\``);
  }
  if (mod.missing !== undefined) throw new NativeAddonError(`${file}: ${mod.missing}; ${fix}`);
  cachedGzip = mod;
  return mod;
}
