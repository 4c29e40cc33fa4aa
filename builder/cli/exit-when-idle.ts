/**
 * Ends the process as soon as a command is done, when nothing is left to wait
 * for. Node would get there by itself, but only after a last turn of its event
 * loop, where V8 runs a scheduled garbage collection, and after tearing the
 * heap down: ~2 ms of a ~60 ms fully cached rebuild. Every write rbuild makes
 * to stdout and stderr is finished by then (direct writes, or Node's streams
 * on terminals, files and pipes, which show up below while a write is pending).
 */

/** What exitWhenIdle uses of `process`. */
export interface ExitHost {
  nextTick(fn: () => void): void;
  getActiveResourcesInfo(): string[];
  exit(code?: number): void;
}

/**
 * Once the current promise jobs have run: exits (with process.exitCode) when no handle, request
 * or timer is active; otherwise leaves it to Node (a stream still writing, a child, a timer).
 * Returns the decision for tests through `onDecision`.
 */
export function exitWhenIdle(host: ExitHost = process, onDecision?: (exited: boolean) => void): void {
  host.nextTick(() => {
    // Anything active (a pending write, a stdio stream kept open, a timer) may still do work.
    const idle = host.getActiveResourcesInfo().length === 0;
    onDecision?.(idle);
    if (idle) host.exit();
  });
}
