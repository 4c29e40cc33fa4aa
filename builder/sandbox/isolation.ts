/**
 * Which isolation a build's RUN steps get: `rootless` (rbuild's user namespace and the helper's namespaces) or
 * `chroot` (a locked-down container where rbuild is root but may create neither namespaces nor mounts: each step
 * is chroot(2)ed into a copy-driver snapshot). The decision is pure; detectIsolation gathers the facts.
 */
import { SandboxError } from './errors.js';
import { checkHelper, helperPath, type NamespaceProbe } from './native-helper.js';
import { currentNamespace } from './userns.js';

/** An isolation mode of RUN steps. */
export type IsolationMode = 'rootless' | 'chroot';

/** What `--isolation` asks for. */
export type IsolationRequest = IsolationMode | 'auto';

/** The facts the decision rests on. */
export interface IsolationFacts {
  /** rbuild's uid outside any namespace of its own. */
  uid: number;
  /** Already inside rbuild's build namespace (the re-executed process). */
  inNamespace: boolean;
  /** Whether the helper has its run-chroot mode. */
  chrootSupported: boolean;
  userns?: NamespaceProbe;
  mountns?: NamespaceProbe;
}

/** The mode chosen and the one line saying why (the CLI prints it). */
export interface IsolationChoice {
  mode: IsolationMode;
  reason: string;
}

function denied(f: IsolationFacts): string {
  const parts: string[] = [];
  if (f.userns && !f.userns.ok) parts.push(`unshare(CLONE_NEWUSER): ${f.userns.errno ?? 'failed'}`);
  if (f.mountns && !f.mountns.ok) parts.push(`unshare(CLONE_NEWNS) + mount: ${f.mountns.errno ?? 'failed'}`);
  return parts.join(', ') || 'namespaces are not allowed here';
}

/** Chooses the isolation for `req` from the facts (pure); throws SandboxError('EISOLATION') when none works. */
export function chooseIsolation(req: IsolationRequest, f: IsolationFacts): IsolationChoice {
  const rootlessOk = f.inNamespace || f.mountns?.ok !== false;
  const rootlessWhy = f.inNamespace
    ? 'inside rbuild\'s build namespace'
    : f.uid === 0
      ? 'real root: a private mount namespace for the snapshots, namespaces per step'
      : 'user namespace for rbuild, namespaces per step';
  if (req === 'chroot') {
    if (f.uid !== 0) {
      throw new SandboxError('EISOLATION', `--isolation chroot needs rbuild to run as root (uid 0), not uid ${f.uid}`, {
        hint: 'use --isolation rootless (the default) as a normal user',
      });
    }
    if (!f.chrootSupported) throw new SandboxError('EISOLATION', 'this rbuild-helper has no chroot mode', { hint: 'npm rebuild' });
    return { mode: 'chroot', reason: 'chroot: asked for with --isolation chroot (RUN chroot(2)ed into a copy of its snapshot, reduced capabilities)' };
  }
  if (rootlessOk) return { mode: 'rootless', reason: `rootless: ${rootlessWhy}` };
  if (req === 'rootless') {
    throw new SandboxError('EISOLATION', `rootless isolation is not possible here (${denied(f)})`, {
      hint: f.uid === 0
        ? 'inside a container that forbids namespaces, use --isolation chroot (or the default, auto)'
        : 'allow user namespaces (see `rbuild info`), or run the container with --security-opt seccomp=unconfined',
    });
  }
  if (f.uid === 0 && f.chrootSupported) {
    return {
      mode: 'chroot',
      reason: `chroot: namespaces and mounts are not allowed here (${denied(f)}), so each RUN runs chroot(2)ed into a copy of its snapshot with reduced capabilities`,
    };
  }
  throw new SandboxError('EISOLATION', `RUN steps cannot be isolated here (${denied(f)}) and rbuild is not root (uid ${f.uid}), so chroot isolation is not possible either`, {
    hint: 'allow unprivileged user namespaces (see `rbuild info`), or run rbuild as root inside the container',
  });
}

/** Probes this machine (through the helper's `features`) and chooses the isolation for `req`. */
export async function detectIsolation(req: IsolationRequest, opts: { helperPath?: string; env?: NodeJS.ProcessEnv } = {}): Promise<IsolationChoice> {
  const env = opts.env ?? process.env;
  const ns = currentNamespace(env);
  const h = await checkHelper(opts.helperPath ?? helperPath(env));
  const facts: IsolationFacts = { uid: ns?.outerUid ?? process.getuid?.() ?? 0, inNamespace: ns !== undefined, chrootSupported: h.chroot };
  if (h.userns) facts.userns = h.userns;
  if (h.mountns) facts.mountns = h.mountns;
  return chooseIsolation(req, facts);
}
