/**
 * How the CLI reports a failure: one clear line (file:line:col for Dockerfile
 * errors, with the source line and a caret), then a hint; the stack only with
 * --debug. Exit codes tell CI what failed: 1 a build step (RUN) failed, 2 bad
 * input (Dockerfile, flags, context), 3 infrastructure (registry, sandbox, store).
 */
import { readFileSync } from 'node:fs';
import { DockerfileError, formatDockerfileError } from '../dockerfile/errors.js';
import { RunFailedError } from '../build/errors.js';

/** A usage error of the command line itself. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

// Exact codes too: a base image the registry does not have (its MANIFEST_UNKNOWN / NAME_UNKNOWN) and a
// --chown/USER name missing from the image are the Dockerfile's to fix (docs/ci.md), not worth a CI retry.
const INPUT_CODES = /^(DOCKERFILE|USAGE|SOURCE_|CONTEXT|BAD_|DEST_|STAGE_|NO_STAGES|INVALID_REFERENCE|IMAGE_NOT_FOUND|UNSUPPORTED|MANIFEST_UNKNOWN$|NAME_UNKNOWN$|EUSER$|EUSERSPEC$)/;

/** The process exit code for an error. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof RunFailedError) return 1;
  const code = (err as { code?: unknown })?.code;
  // Like a shell: 128 + SIGINT.
  if (code === 'INTERRUPTED') return 130;
  if (err instanceof DockerfileError || (typeof code === 'string' && INPUT_CODES.test(code))) return 2;
  return 3;
}

/** The text printed for an error. */
export function formatError(err: unknown, debug: boolean): string {
  const lines: string[] = [];
  if (err instanceof DockerfileError) {
    let text: string | undefined;
    try {
      text = readFileSync(err.file, 'utf8');
    } catch {
      text = undefined;
    }
    lines.push(`error: ${formatDockerfileError(err, text)}`);
  } else if (err instanceof Error) {
    lines.push(`error: ${err.message}`);
    const hint = (err as { hint?: unknown }).hint;
    if (typeof hint === 'string' && hint) lines.push(`hint: ${hint}`);
  } else {
    lines.push(`error: ${String(err)}`);
  }
  if (debug && err instanceof Error) {
    lines.push(err.stack ?? '');
    let cause = err.cause;
    while (cause) {
      lines.push(`caused by: ${cause instanceof Error ? cause.stack : String(cause)}`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return lines.join('\n');
}
