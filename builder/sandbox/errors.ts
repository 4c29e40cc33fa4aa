/** Errors of the sandbox: which syscall failed, its errno, and what to check. */
export class SandboxError extends Error {
  override name = 'SandboxError';
  /** Stable code: EHELPER (the helper failed), ESPEC (invalid spec), EHELPERVERSION, EHELPERMISSING, ENETWORK, EUSERNS, EISOLATION (no isolation mode works), UNSUPPORTED (not possible in this mode; exit code 2 like other unsupported input). */
  code: string;
  /** The syscall or step that failed (e.g. `pivot_root`), when the helper said. */
  syscall?: string;
  /** errno name (e.g. `EPERM`), when the helper said. */
  errno?: string;
  /** What to check or run to fix it. */
  hint?: string;
  override cause?: unknown;

  constructor(code: string, message: string, opts: { syscall?: string; errno?: string; hint?: string; cause?: unknown } = {}) {
    super(message);
    this.code = code;
    if (opts.syscall !== undefined) this.syscall = opts.syscall;
    if (opts.errno !== undefined) this.errno = opts.errno;
    if (opts.hint !== undefined) this.hint = opts.hint;
    if (opts.cause !== undefined) this.cause = opts.cause;
  }
}
