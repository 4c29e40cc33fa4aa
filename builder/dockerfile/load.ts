/** Reading a Dockerfile from disk with distinct errors, then parsing it into stages. */
import { readFile, stat } from 'node:fs/promises';
import { DockerfileError } from './errors.js';
import { parseDockerfile, type ParseResult } from './parser.js';
import { toStages, type Stages } from './stages.js';

/** Reads a Dockerfile: a missing path and a directory are distinct errors. */
export async function readDockerfile(path: string, opts: { file?: string; signal?: AbortSignal } = {}): Promise<string> {
  const file = opts.file ?? path;
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new DockerfileError('DOCKERFILE_NOT_FOUND', `failed to read Dockerfile: no such file: ${path}`, { file }, {
        hint: 'pass the Dockerfile with -f, or run in a directory that has one', cause: err,
      });
    }
    throw err;
  }
  if (st.isDirectory()) {
    throw new DockerfileError('DOCKERFILE_IS_DIRECTORY', `failed to read Dockerfile: ${path} is a directory`, { file }, {
      hint: `-f takes the Dockerfile itself; did you mean ${path.replace(/\/+$/, '')}/Dockerfile?`,
    });
  }
  return readFile(path, { encoding: 'utf8', ...(opts.signal ? { signal: opts.signal } : {}) });
}

/** A Dockerfile read, parsed and grouped into stages. */
export interface LoadedDockerfile {
  text: string;
  ast: ParseResult;
  stages: Stages;
}

/** Reads and parses a Dockerfile; every error is a DockerfileError with its location. */
export async function loadDockerfile(path: string, opts: { file?: string; signal?: AbortSignal } = {}): Promise<LoadedDockerfile> {
  const text = await readDockerfile(path, opts);
  const ast = parseDockerfile(text, { file: opts.file ?? path });
  return { text, ast, stages: toStages(ast) };
}
