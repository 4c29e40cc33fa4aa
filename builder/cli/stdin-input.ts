/**
 * `-f -` (Dockerfile on stdin) and `-` as the context (a tar on stdin). The
 * first pass reads stdin into `<root>/tmp` and hands the paths to the build
 * namespace's re-executed rbuild through the environment (its stdin is
 * already drained); the first pass removes them when it exits.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UsageError } from './errors.js';

const CONTEXT_ENV = 'RBUILD_STDIN_CONTEXT';
const DOCKERFILE_ENV = 'RBUILD_STDIN_DOCKERFILE';

/** Paths that replace `-` for the context and the Dockerfile. */
export interface StdinPaths {
  context?: string;
  dockerfile?: string;
}

/** Reads what `-` stands for from stdin once (or takes it from the first pass); returns the replacement paths. */
export async function resolveStdinInputs(context: string, dockerfile: string | undefined, root: string, input?: NodeJS.ReadableStream): Promise<StdinPaths> {
  const wantsContext = context === '-';
  const wantsFile = dockerfile === '-';
  if (!wantsContext && !wantsFile) return {};
  if (wantsContext && wantsFile) throw new UsageError('the context and the Dockerfile cannot both come from stdin', 'give the Dockerfile inside the context tar, or a directory as the context');
  const passed = process.env[wantsContext ? CONTEXT_ENV : DOCKERFILE_ENV];
  if (passed) return wantsContext ? { context: passed } : { dockerfile: passed };
  // process.stdin only now: touching it builds a stream (net, stream, tty: ~3 ms) that most builds never read.
  const stdin = input ?? process.stdin;
  const tmp = join(root, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const dir = mkdtempSync(join(tmp, wantsContext ? 'stdin-context-' : 'stdin-dockerfile-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  if (wantsContext) {
    // node-tar refuses absolute paths and `..` (it strips them): nothing lands outside dir.
    // node-tar is loaded only for a context on stdin: every build imports this module.
    const tar = await import('tar');
    await pipeline(stdin, tar.x({ cwd: dir, strict: true }));
    process.env[CONTEXT_ENV] = dir;
    return { context: dir };
  }
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  const file = join(dir, 'Dockerfile');
  writeFileSync(file, Buffer.concat(chunks));
  process.env[DOCKERFILE_ENV] = file;
  return { dockerfile: file };
}
