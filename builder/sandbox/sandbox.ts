/** An extra mount inside a step's root (RUN --mount, /etc/hosts, ...). */
export type StepMount =
  | { type: 'bind'; source: string; target: string; readonly: boolean }
  | { type: 'tmpfs'; target: string; sizeBytes?: number };

/** Network modes of docker build's `--network`; `private` is slirp4netns/pasta. */
export type NetworkMode = 'host' | 'none' | 'private';

/** Everything a RUN step needs; the sandbox adds nothing the spec does not say. */
export interface RunSpec {
  /** Absolute path of the step's mounted root file system. */
  rootfs: string;
  /** argv; args[0] is looked up in PATH of `env` when not absolute. */
  args: string[];
  /** Exactly the step's environment, `KEY=value`. */
  env: string[];
  /** Working directory inside the root (created by the caller). */
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  hostname: string;
  network: NetworkMode;
  mounts: StepMount[];
  /** Content for /etc/hosts and /etc/resolv.conf inside the step (bind-mounted, not written to the layer). */
  etcHosts?: string;
  resolvConf?: string;
}

/** How a step ended: exitCode is 128+N when killed by signal N. */
export interface RunResult {
  exitCode: number;
  signal?: string;
}

/** Where a step's output goes. */
export interface StepIO {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

/** Runs build steps isolated from the host. Aborting the signal kills the whole step. */
export interface Sandbox {
  run(spec: RunSpec, io: StepIO, signal?: AbortSignal): Promise<RunResult>;
}
