/**
 * The executor's view of an instruction after variable expansion: what to do,
 * not how it was written. builder/build/from-instructions.ts maps the
 * frontend's typed instructions to these.
 */
import type { HealthConfig } from '../../registry/oci/types.js';

/** A `RUN --mount`. */
export type RunMount =
  | { type: 'cache'; target: string; id?: string; sharing: 'shared' | 'private' | 'locked'; from?: string; source?: string; readonly: boolean; mode?: number; uid?: number; gid?: number }
  | { type: 'bind'; target: string; from?: string; source: string; readwrite: boolean }
  | { type: 'tmpfs'; target: string; size?: number }
  | { type: 'secret'; id: string; target?: string; env?: string; required: boolean; mode?: number; uid?: number; gid?: number }
  | { type: 'ssh'; id: string; target?: string; required: boolean };

/** An inline file of a COPY/ADD heredoc. */
export interface InlineFile {
  name: string;
  content: string;
}

/** One executable step. `text` is the instruction as written, for history and progress. */
export type Step = { text: string; line?: number } & (
  | { kind: 'ENV'; pairs: Array<[string, string]> }
  | { kind: 'LABEL'; pairs: Array<[string, string]> }
  | { kind: 'EXPOSE'; ports: string[] }
  | { kind: 'VOLUME'; paths: string[] }
  | { kind: 'USER'; user: string }
  | { kind: 'WORKDIR'; path: string }
  | { kind: 'ENTRYPOINT' | 'CMD'; args: string[]; shellForm: boolean }
  | { kind: 'SHELL'; shell: string[] }
  | { kind: 'STOPSIGNAL'; signal: string }
  | { kind: 'HEALTHCHECK'; health: HealthConfig; shellForm: boolean }
  | { kind: 'ONBUILD'; expression: string }
  | { kind: 'ARG'; args: Array<{ name: string; value?: string }> }
  | { kind: 'MAINTAINER'; name: string }
  | { kind: 'RUN'; args: string[]; shellForm: boolean; mounts: RunMount[]; network?: string; files: InlineFile[] }
  | {
      kind: 'COPY' | 'ADD';
      sources: string[];
      dest: string;
      from?: string;
      chown?: string;
      chmod?: string;
      link: boolean;
      parents: boolean;
      exclude: string[];
      checksum?: string;
      keepGitDir?: boolean;
      unpack?: boolean;
      files: InlineFile[];
    }
);
