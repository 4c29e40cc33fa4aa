/** Errors of the build executor; each has a stable code and, where it helps, a hint. */

/** A build failure with a code, the step it happened in and a hint for the user. */
export class BuildError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A RUN step exited non-zero. */
export class RunFailedError extends BuildError {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly lastLines: string[],
  ) {
    super('RUN_FAILED', `RUN ${command} exited with code ${exitCode}`,
      lastLines.length ? `last output:\n${lastLines.map((l) => `  ${l}`).join('\n')}` : undefined);
  }
}

/** Thrown when the build needs the user namespace (a step must run) and the process is not in one yet. */
export class NeedsNamespaceError extends BuildError {
  constructor() {
    super('NEEDS_NAMESPACE', 'this build step needs the build namespace');
  }
}
