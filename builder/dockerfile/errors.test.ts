import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerfileError, editDistance, formatDockerfileError, suggest } from './errors.js';
import { expandInstruction, toInstructions } from './instructions.js';
import { loadDockerfile, readDockerfile } from './load.js';
import { parseDockerfile } from './parser.js';
import { planBuild, toStages } from './stages.js';
import { ShellLex } from './shell-lex.js';

function caught(fn: () => unknown): DockerfileError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DockerfileError) return e;
    throw e;
  }
  throw new Error('expected a DockerfileError');
}
async function caughtAsync(fn: () => Promise<unknown>): Promise<DockerfileError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof DockerfileError) return e;
    throw e;
  }
  throw new Error('expected a DockerfileError');
}

const full = (text: string) => planBuild(toStages(parseDockerfile(text, { file: 'Dockerfile' })));

describe('error classes, each located and formatted', () => {
  it('syntax (parser) error', () => {
    const text = 'FROM a\nENV PATH\n';
    const e = caught(() => full(text));
    expect(e.code).toBe('DOCKERFILE_SYNTAX');
    expect(formatDockerfileError(e, text)).toBe('Dockerfile:2:1: ENV must have two arguments\n 2 | ENV PATH\n   | ^');
  });
  it('unknown instruction', () => {
    const e = caught(() => full('FROM a\nCOPPY a b\n'));
    expect(e).toMatchObject({ code: 'DOCKERFILE_UNKNOWN_INSTRUCTION', line: 2, hint: 'did you mean COPY?' });
    expect(caught(() => full('FROM a\nXYZZY\n')).hint).toBeUndefined();
  });
  it('flag error points at the flag', () => {
    const text = 'FROM a\nRUN --mont=type=cache,target=/x \\\n  make\n';
    const e = caught(() => full(text));
    expect(formatDockerfileError(e, text)).toBe('Dockerfile:2:5: unknown flag: mont\n 2 | RUN --mont=type=cache,target=/x \\\n   |     ^\nhint: did you mean --mount?');
  });
  it('argument error', () => {
    expect(caught(() => full('FROM a\nUSER\n'))).toMatchObject({ code: 'DOCKERFILE_ARGUMENTS', message: 'USER requires exactly one argument' });
  });
  it('stage error', () => {
    expect(caught(() => full('FROM a AS x\nFROM x AS y\nFROM y AS x\n'))).toMatchObject({ code: 'DOCKERFILE_STAGE', line: 3 });
    expect(caught(() => planBuild(toStages(parseDockerfile('FROM a\n', { file: 'D' })), { target: 'nope' }))).toMatchObject({ code: 'DOCKERFILE_STAGE' });
  });
  it('expansion error', () => {
    const [, user] = toInstructions(parseDockerfile('FROM a\nUSER ${x:?must be set}\n', { file: 'Dockerfile' }));
    const e = caught(() => expandInstruction(user!, {}, new ShellLex()));
    expect(e).toMatchObject({ code: 'DOCKERFILE_EXPANSION', line: 2 });
    expect(e.message).toMatch(/x: must be set/);
  });
  it('empty file, only comments, missing file, directory: distinct', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rbuild-df-'));
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'comments'), '# only\n# comments\n');
    expect((await caughtAsync(() => loadDockerfile(join(dir, 'empty')))).code).toBe('DOCKERFILE_EMPTY');
    expect((await caughtAsync(() => loadDockerfile(join(dir, 'comments')))).code).toBe('DOCKERFILE_NO_INSTRUCTIONS');
    expect((await caughtAsync(() => readDockerfile(join(dir, 'missing')))).code).toBe('DOCKERFILE_NOT_FOUND');
    const d = await caughtAsync(() => readDockerfile(dir));
    expect(d.code).toBe('DOCKERFILE_IS_DIRECTORY');
    expect(formatDockerfileError(d)).toMatch(/is a directory\nhint: -f takes the Dockerfile itself/);
  });
  it('formats without source and with tabs and CRLF', () => {
    const e = new DockerfileError('DOCKERFILE_SYNTAX', 'boom', { file: 'F', line: 1, column: 3 });
    expect(formatDockerfileError(e)).toBe('F:1:3: boom');
    expect(formatDockerfileError(e, '\tab\r\n')).toBe('F:1:3: boom\n 1 |  ab\n   |   ^');
  });
});

describe('suggestions', () => {
  it('edit distance and nearest candidate', () => {
    expect(editDistance('RUNN', 'run')).toBe(1);
    expect(suggest('RUNN', ['COPY', 'RUN'])).toBe('RUN');
    expect(suggest('entrypont', ['ENTRYPOINT', 'ENV'])).toBe('ENTRYPOINT');
    expect(suggest('zz', ['COPY'])).toBeUndefined();
  });
});
