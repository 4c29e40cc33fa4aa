/** What the image-store commands share: `--root`, opening the store, reporting errors. */
import type { Command } from 'commander';
import { defaultStoreRoot } from '../../../registry/store/default-root.js';
import { openStore, type OciLayoutStore } from '../../../registry/store/oci-layout-store.js';

/** Adds `--root` to a command. */
export function withRoot(cmd: Command): Command {
  return cmd.option('--root <dir>', 'store root (default $XDG_DATA_HOME/rbuild or ~/.local/share/rbuild)');
}

/** Opens the store named by `--root` (or the default). */
export function storeFrom(opts: { root?: string }): Promise<OciLayoutStore> {
  return openStore(opts.root ?? defaultStoreRoot());
}

/** Prints an error the way every rbuild command does and sets a failing exit code. */
export function reportError(err: unknown): void {
  const e = err as { message?: string; code?: string };
  process.stderr.write(`rbuild: ${e?.message ?? String(err)}\n`);
  process.exitCode = 1;
}

/** Wraps a command action so that errors are reported, not thrown as stack traces. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      reportError(err);
    }
  };
}
