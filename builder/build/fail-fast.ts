/**
 * A failing stage cancels the others: the build's stages run with a signal of
 * their own, linked to the caller's and aborted with the first stage failure,
 * so running steps are killed at once instead of being waited for.
 */

/** The signal a build's stages share, and the error the build reports. */
export class FailFast {
  private readonly ctl = new AbortController();
  private first: { error: unknown } | undefined;
  private readonly unlink: () => void;

  constructor(private readonly outer?: AbortSignal) {
    const follow = (): void => this.ctl.abort(outer!.reason);
    if (outer?.aborted) follow();
    outer?.addEventListener('abort', follow, { once: true });
    this.unlink = () => outer?.removeEventListener('abort', follow);
  }

  /** Aborted when the caller aborts or a stage fails. */
  get signal(): AbortSignal {
    return this.ctl.signal;
  }

  /** Records a stage failure; the first one aborts every other stage (with it as the reason). */
  fail(error: unknown): void {
    this.first ??= { error };
    if (!this.ctl.signal.aborted) this.ctl.abort(error);
  }

  /**
   * What the build fails with: the caller's abort reason (Ctrl-C), else the first stage failure
   * (the others then fail only because they were cancelled), else `error` itself.
   */
  error(error: unknown): unknown {
    if (this.outer?.aborted) return this.outer.reason;
    return this.first ? this.first.error : error;
  }

  /** Stops following the caller's signal. */
  dispose(): void {
    this.unlink();
  }
}
