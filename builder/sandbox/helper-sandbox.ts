/** The Sandbox that runs each step through `rbuild-helper run` (namespaces, pivot_root, caps, seccomp) or `run-chroot`. */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { SandboxError } from './errors.js';
import { encodeRunSpec, helperErrorFromStatus, parseStatusLine, validateRunSpec, type StatusEvent } from './helper-protocol.js';
import { checkHelper, helperPath as defaultHelperPath } from './native-helper.js';
import { chooseNetwork, defaultEtcHosts, defaultResolvConf, probeNetwork, startSlirp, type NetworkProbe, type SlirpHandle } from './network.js';
import type { IsolationMode } from './isolation.js';
import type { NetworkMode, RunResult, RunSpec, Sandbox, StepIO } from './sandbox.js';

/** Options of HelperSandbox. */
export interface HelperSandboxOptions {
  /** Directory for per-step files (/etc/hosts, resolv.conf, hostname), e.g. `<store>/tmp`. Must exist. */
  tmpDir: string;
  /** The helper executable; default: the package's native/build/Release/rbuild-helper. */
  helperPath?: string;
  /** Overrides the probe of slirp4netns and /dev/net/tun (tests). */
  network?: NetworkProbe;
  /** Private network: let 10.0.2.2 reach services on the host's loopback (default false, as Docker's bridge). */
  hostLoopback?: boolean;
  /** Called once per sandbox with a one-line warning (e.g. private network falling back to host). */
  onWarning?: (message: string) => void;
  /**
   * `rootless` (default): the helper's namespaces, pivot_root and mounts. `chroot`: for a container that forbids
   * namespaces and mounts (rbuild is root there): chroot(2) into the root, reduced capabilities, the host
   * network, no RUN --mount. See isolation.ts.
   */
  isolation?: IsolationMode;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function signalName(n: number): string | undefined {
  for (const [name, num] of Object.entries(constants.signals)) if (num === n) return name;
  return undefined;
}

/** Runs RUN steps isolated like docker build does, via the native helper. Must run inside the build namespace. */
export class HelperSandbox implements Sandbox {
  readonly #opts: HelperSandboxOptions;
  readonly #helper: string;
  #probe: NetworkProbe | undefined;
  readonly #warned = new Set<string>();

  constructor(opts: HelperSandboxOptions) {
    this.#opts = opts;
    this.#helper = opts.helperPath ?? defaultHelperPath();
    this.#probe = opts.network;
  }

  /** The network a step asking for `requested` gets here (private falls back to host when it cannot work). */
  effectiveNetwork(requested: NetworkMode): NetworkMode {
    let mode: NetworkMode;
    let warning: string | undefined;
    if (this.#opts.isolation === 'chroot') {
      // No network namespace can be made: every step shares the job's network.
      mode = 'host';
      if (requested !== 'host') warning = `RUN --network=${requested} needs a network namespace, which chroot isolation cannot create: the step uses the host network`;
    } else {
      this.#probe ??= probeNetwork();
      ({ mode, warning } = chooseNetwork(requested, this.#probe));
    }
    if (warning && !this.#warned.has(warning)) {
      this.#warned.add(warning);
      this.#opts.onWarning?.(warning);
    }
    return mode;
  }

  /** Runs one step; resolves with its exit code, rejects with SandboxError when the helper failed, or with the abort reason. */
  async run(spec: RunSpec, io: StepIO, signal?: AbortSignal): Promise<RunResult> {
    validateRunSpec(spec);
    const chroot = this.#opts.isolation === 'chroot';
    // Without mount(2) the helper can only copy read-only files (secrets) in for the step.
    const unmountable = chroot ? spec.mounts.filter((m) => !(m.type === 'bind' && m.readonly && isFile(m.source))) : [];
    if (unmountable.length > 0) {
      throw new SandboxError('UNSUPPORTED', `RUN --mount (${unmountable.map((m) => m.target).join(', ')}) needs mount(2), which chroot isolation does not have`, {
        hint: 'chroot isolation gives only secrets and other read-only files; drop the --mount, or run rbuild where user namespaces are allowed (--isolation rootless)',
      });
    }
    signal?.throwIfAborted();
    await checkHelper(this.#helper);
    const network = this.effectiveNetwork(spec.network);
    const dir = await mkdtemp(join(this.#opts.tmpDir, 'step-'));
    let slirp: Promise<SlirpHandle | undefined> | undefined;
    try {
      // Like BuildKit: /etc/hosts and /etc/resolv.conf are bind-mounted, /etc/hostname is left to the image
      // (a RUN may edit or delete it, and that change belongs in the layer).
      const files = { hosts: join(dir, 'hosts'), resolv: join(dir, 'resolv.conf') };
      await writeFile(files.hosts, spec.etcHosts ?? defaultEtcHosts(spec.hostname));
      await writeFile(files.resolv, spec.resolvConf ?? defaultResolvConf(network));

      const child = spawn(this.#helper, [chroot ? 'run-chroot' : 'run', '--spec-fd', '3', '--status-fd', '4', '--control-fd', '5'], {
        stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
      });
      const stdio = child.stdio as unknown as Array<Readable & Writable>;
      const specIn: Writable = stdio[3]!;
      const status: Readable = stdio[4]!;
      const control: Writable = stdio[5]!;
      // A helper that dies early closes these; the exit code says what happened.
      specIn.on('error', () => {});
      control.on('error', () => {});
      child.stdout!.on('data', (b: Buffer) => io.stdout(b));
      child.stderr!.on('data', (b: Buffer) => io.stderr(b));
      specIn.end(encodeRunSpec(spec, network, files));

      const events: StatusEvent[] = [];
      let setupError: unknown;
      const onAbort = (): void => {
        control.write('kill\n');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const lines = createInterface({ input: status });
      lines.on('line', (line) => {
        const ev = parseStatusLine(line);
        if (!ev) return;
        events.push(ev);
        if (ev.type !== 'pid') return;
        if (network !== 'private') {
          control.write('go\n');
          return;
        }
        slirp = startSlirp(this.#probe!.slirp4netns!, ev.pid, this.#opts.hostLoopback ?? false).then(
          (h) => {
            control.write('go\n');
            return h;
          },
          (err: unknown) => {
            setupError = err;
            control.write('kill\n');
            return undefined;
          },
        );
      });
      const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.once('error', (cause) => reject(new SandboxError('EHELPER', `cannot start ${this.#helper}`, { cause })));
        child.once('close', (c, s) => resolve([c, s]));
      });
      signal?.removeEventListener('abort', onAbort);
      control.end();
      await slirp;

      if (setupError) throw setupError;
      if (signal?.aborted) throw signal.reason;
      const err = events.find((e) => e.type === 'error');
      if (err && err.type === 'error') throw helperErrorFromStatus(err);
      const last = [...events].reverse().find((e) => e.type === 'exit' || e.type === 'signal');
      if (last?.type === 'exit') return { exitCode: last.code };
      if (last?.type === 'signal') {
        const name = signalName(last.signal);
        return name ? { exitCode: 128 + last.signal, signal: name } : { exitCode: 128 + last.signal };
      }
      throw new SandboxError('EHELPER', `rbuild-helper ended without a result (exit ${code ?? sig})`, {
        hint: 'was it killed? see `rbuild info`',
      });
    } finally {
      await (await slirp)?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
}
