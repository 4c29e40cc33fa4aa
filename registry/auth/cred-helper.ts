/** Runs Docker credential helpers (`docker-credential-<name> get|store|erase`) as Docker does. */
import { spawn } from 'node:child_process';

/** A helper failed (other than "not found"). Its output is not included: it may hold secrets. */
export class CredentialHelperError extends Error {
  readonly code = 'CREDENTIAL_HELPER';
  constructor(
    readonly helper: string,
    message: string,
    cause?: unknown,
  ) {
    super(`docker-credential-${helper}: ${message}`, { cause });
    this.name = 'CredentialHelperError';
  }
}

/** What a helper's `get` returns. */
export interface HelperCredential {
  ServerURL?: string;
  Username: string;
  Secret: string;
}

function run(helper: string, verb: string, input: string, signal?: AbortSignal): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, [verb], {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(signal && { signal }),
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.resume();
    child.on('error', (err) => {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new CredentialHelperError(helper, missing ? 'not found on PATH' : err.message, err));
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
    child.stdin.end(input);
  });
}

/** Asks a helper for a server's credentials; undefined when it has none. */
export async function helperGet(helper: string, serverUrl: string, signal?: AbortSignal): Promise<HelperCredential | undefined> {
  const { code, stdout } = await run(helper, 'get', serverUrl, signal);
  // Helpers exit non-zero with "credentials not found in native keychain" when they have none.
  if (code !== 0) {
    if (/not found/i.test(stdout) || stdout.trim() === '') return undefined;
    throw new CredentialHelperError(helper, `get failed (exit ${code})`);
  }
  try {
    const parsed = JSON.parse(stdout) as HelperCredential;
    if (typeof parsed.Secret !== 'string') throw new Error('no Secret');
    return parsed;
  } catch (err) {
    throw new CredentialHelperError(helper, 'get printed something that is not a credential', err);
  }
}

/** Stores credentials with a helper. */
export async function helperStore(helper: string, cred: HelperCredential, signal?: AbortSignal): Promise<void> {
  const { code } = await run(helper, 'store', JSON.stringify(cred), signal);
  if (code !== 0) throw new CredentialHelperError(helper, `store failed (exit ${code})`);
}

/** Erases a server's credentials from a helper. */
export async function helperErase(helper: string, serverUrl: string, signal?: AbortSignal): Promise<void> {
  const { code, stdout } = await run(helper, 'erase', serverUrl, signal);
  if (code !== 0 && !/not found/i.test(stdout)) throw new CredentialHelperError(helper, `erase failed (exit ${code})`);
}
