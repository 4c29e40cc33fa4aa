/** Shared CLI step for commands that need rbuild's namespace: re-exec under the helper, warn once about the mapping. */
import { ensureBuildNamespace, mappingWarning, type BuildNamespace } from '../../sandbox/userns.js';

/**
 * Enters the build namespace. Returns the namespace when this process continues inside; returns
 * undefined after the re-executed rbuild finished (process.exitCode is then set: the caller just returns).
 */
export async function enterBuildNamespace(): Promise<BuildNamespace | undefined> {
  const r = await ensureBuildNamespace();
  if (r.kind === 'exited') {
    process.exitCode = r.code;
    return undefined;
  }
  const warning = mappingWarning(r.ns);
  if (warning) process.stderr.write(`${warning}\n`);
  return r.ns;
}

/** One clear line (plus the hint) for errors of the sandbox and user resolution. */
export function formatError(err: unknown): string {
  if (!(err instanceof Error)) return `rbuild: ${String(err)}`;
  const hint = (err as { hint?: string }).hint;
  const code = (err as { code?: string }).code;
  const body = `rbuild: ${err.message}${code ? ` (${code})` : ''}`;
  return hint && !err.message.includes(hint) ? `${body}\nhint: ${hint}` : body;
}
