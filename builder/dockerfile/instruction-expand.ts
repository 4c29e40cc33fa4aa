/**
 * Variable expansion of typed instructions, deferred to dispatch time: each
 * instruction kind expands exactly the fields BuildKit expands.
 */
import { DockerfileError } from './errors.js';
import type { Instruction } from './instruction-types.js';
import { isValidChmod } from './instruction-validate.js';
import { parsePortSpec, PortSpecError } from './port-spec.js';
import { parseRunMount, RunMountError } from './run-mount.js';
import { ShellLex, ShellLexError, type EnvLike } from './shell-lex.js';

/** Options for expandInstruction. */
export interface ExpandOptions {
  /** Collects the variable names the expansion resolved (to mark build args used). */
  used?: Set<string>;
}

function locError(instr: Instruction, err: unknown): DockerfileError {
  const msg = err instanceof Error ? err.message : String(err);
  return new DockerfileError('DOCKERFILE_EXPANSION', msg, { file: instr.loc.file, line: instr.loc.line, column: instr.loc.column, endLine: instr.loc.endLine }, { cause: err });
}

/**
 * Returns `instr` with BuildKit's expansions applied using `env` (the stage's
 * environment at dispatch: base image ENV, ENV and ARG values so far). Fields
 * that BuildKit leaves to the shell (RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK
 * commands, ONBUILD) are untouched. FROM is expanded with global ARGs only.
 */
export function expandInstruction<T extends Instruction>(instr: T, env: EnvLike, lex: ShellLex, opts: ExpandOptions = {}): T {
  const w = (s: string): string => {
    const r = lex.process(s, env);
    if (opts.used) for (const m of r.matched) opts.used.add(m);
    return r.result;
  };
  const ws = (s: string): string[] => {
    const r = lex.process(s, env);
    if (opts.used) for (const m of r.matched) opts.used.add(m);
    return r.words;
  };
  const wo = (s: string | undefined): string | undefined => (s === undefined ? undefined : w(s));
  // Heredoc file contents: quotes are content, not syntax.
  const rawLex = new ShellLex('\\', { skipProcessQuotes: true });
  const raw = (s: string): string => rawLex.processWord(s, env);
  const set = <O extends object, K extends keyof O>(o: O, k: K, v: O[K] | undefined): void => {
    if (v === undefined) delete o[k];
    else o[k] = v;
  };
  try {
    const i = structuredClone(instr) as Instruction;
    switch (i.kind) {
      case 'FROM':
        i.image = w(i.image);
        set(i, 'platform', wo(i.platform));
        break;
      case 'ENV':
        i.env = i.env.map((kv) => ({ ...kv, key: w(kv.key), value: w(kv.value) }));
        break;
      case 'LABEL':
        i.labels = i.labels.map((kv) => ({ ...kv, key: w(kv.key), value: w(kv.value) }));
        break;
      case 'ARG':
        i.args = i.args.map((a) => (a.value === undefined ? { key: w(a.key) } : { key: w(a.key), value: w(a.value) }));
        break;
      case 'EXPOSE':
        // BuildKit: ProcessWords, then nat.ParsePortSpecs; the config records `port/proto`.
        i.ports = i.ports.flatMap(ws).flatMap((p) => {
          try {
            return parsePortSpec(p);
          } catch (err) {
            if (!(err instanceof PortSpecError)) throw err;
            throw new DockerfileError('DOCKERFILE_ARGUMENTS', err.message, { file: i.loc.file, line: i.loc.line, column: i.loc.column, endLine: i.loc.endLine }, { hint: 'use PORT, PORT/udp, START-END/tcp or IP:HOSTPORT:PORT', cause: err });
          }
        });
        break;
      case 'VOLUME':
        i.volumes = i.volumes.map(w);
        break;
      case 'USER':
        i.user = w(i.user);
        break;
      case 'WORKDIR':
        i.path = w(i.path);
        break;
      case 'STOPSIGNAL':
        i.signal = w(i.signal);
        break;
      case 'COPY':
      case 'ADD':
        i.sources = i.sources.map(w);
        i.dest = w(i.dest);
        i.exclude = i.exclude.map(w);
        i.contents = i.contents.map((c) => (c.expand ? { ...c, data: raw(c.data) } : c));
        set(i, 'chown', wo(i.chown));
        set(i, 'chmod', wo(i.chmod));
        if (i.chmod !== undefined && !isValidChmod(i.chmod)) {
          throw new DockerfileError('DOCKERFILE_FLAG', `invalid chmod parameter: ${i.chmod}`, { file: i.loc.file, line: i.loc.line, column: i.loc.column });
        }
        if (i.kind === 'COPY') set(i, 'from', wo(i.from));
        else set(i, 'checksum', wo(i.checksum));
        break;
      case 'RUN':
        i.mounts = i.mountSpecs.map((s, n) => parseRunMount(s, n, w));
        break;
    }
    return i as T;
  } catch (err) {
    if (err instanceof DockerfileError) throw err;
    if (err instanceof ShellLexError || err instanceof RunMountError) throw locError(instr, err);
    throw err;
  }
}

/** The same as expandInstruction with BuildKit's argument order. */
export function expand<T extends Instruction>(instr: T, lex: ShellLex, env: EnvLike, opts?: ExpandOptions): T {
  return expandInstruction(instr, env, lex, opts);
}
