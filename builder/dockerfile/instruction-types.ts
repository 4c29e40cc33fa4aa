/** The typed Dockerfile instructions: one interface per instruction, with source locations. */
import type { RunDevice } from './run-device.js';
import type { RunMount } from './run-mount.js';

export type { RunDevice } from './run-device.js';
export type { RunMount } from './run-mount.js';

/** Where an instruction is: 1-based lines, column of the keyword. */
export interface InstrLocation {
  file: string;
  line: number;
  endLine: number;
  column: number;
}

/** Fields every instruction has. */
export interface InstructionBase<K extends string> {
  kind: K;
  loc: InstrLocation;
  /** The logical source line (continuations joined). */
  original: string;
}

/** `KEY=value` of ENV / LABEL; noDelim for the legacy `ENV key value` form. */
export interface KeyValue {
  key: string;
  value: string;
  noDelim: boolean;
}

/** A heredoc used as a RUN/CMD script file. */
export interface InlineFile {
  name: string;
  data: string;
  chomp: boolean;
  expand: boolean;
}

/** A heredoc used as COPY/ADD file content. */
export interface SourceContent {
  /** The file name (the heredoc delimiter). */
  path: string;
  data: string;
  /** Expand variables in data (delimiter was unquoted). */
  expand: boolean;
}

/** RUN/CMD/ENTRYPOINT command line. */
export interface CommandLine {
  /** Exec form: argv. Shell form: one string. */
  cmd: string[];
  /** True for the shell form: the executor prepends SHELL. */
  prependShell: boolean;
  files: InlineFile[];
}

/** FROM: starts a stage. */
export interface FromInstruction extends InstructionBase<'FROM'> {
  /** The image or stage reference (unexpanded: may contain global ARGs). */
  image: string;
  /** Lowercased `AS` name. */
  stageName?: string;
  platform?: string;
}
/** RUN: a command in the stage's root. */
export interface RunInstruction extends InstructionBase<'RUN'>, CommandLine {
  /** Raw --mount values (expanded by expandInstruction). */
  mountSpecs: string[];
  /** Parsed mounts (re-parsed with expanded values by expandInstruction). */
  mounts: RunMount[];
  network?: 'default' | 'none' | 'host';
  security?: 'sandbox' | 'insecure';
  /** --device: CDI devices (BuildKit labs); the executor must refuse what it cannot provide. */
  devices: RunDevice[];
}
/** CMD: the default command. */
export interface CmdInstruction extends InstructionBase<'CMD'>, CommandLine {}
/** ENTRYPOINT: the executable. */
export interface EntrypointInstruction extends InstructionBase<'ENTRYPOINT'>, CommandLine {}
/** SHELL: the shell for shell forms. */
export interface ShellInstruction extends InstructionBase<'SHELL'> {
  shell: string[];
}
/** ENV: environment variables. */
export interface EnvInstruction extends InstructionBase<'ENV'> {
  env: KeyValue[];
}
/** ARG: build-time variables, with optional defaults (unexpanded). */
export interface ArgInstruction extends InstructionBase<'ARG'> {
  args: Array<{ key: string; value?: string }>;
}
/** LABEL: image labels. */
export interface LabelInstruction extends InstructionBase<'LABEL'> {
  labels: KeyValue[];
}
/** EXPOSE: port specs. */
export interface ExposeInstruction extends InstructionBase<'EXPOSE'> {
  /**
   * As written (`80`, `80/udp`, `8000-8010`, `127.0.0.1:8080:80`); after
   * expandInstruction, the container ports BuildKit records: `80/tcp`, one per port.
   */
  ports: string[];
}
/** VOLUME: mount points. */
export interface VolumeInstruction extends InstructionBase<'VOLUME'> {
  volumes: string[];
}
/** USER: `user[:group]`. */
export interface UserInstruction extends InstructionBase<'USER'> {
  user: string;
}
/** WORKDIR: the working directory. */
export interface WorkdirInstruction extends InstructionBase<'WORKDIR'> {
  path: string;
}
/** Fields shared by COPY and ADD. */
export interface CopyLike {
  /** Source paths (not heredocs). */
  sources: string[];
  /** Heredoc sources. */
  contents: SourceContent[];
  dest: string;
  chown?: string;
  /** Octal (`755`) or symbolic (`u+x,go-w`). */
  chmod?: string;
  link: boolean;
  exclude: string[];
}
/** COPY: files from the context, a stage or an image. */
export interface CopyInstruction extends InstructionBase<'COPY'>, CopyLike {
  from?: string;
  parents: boolean;
}
/** ADD: COPY plus URLs, git and archive unpacking. */
export interface AddInstruction extends InstructionBase<'ADD'>, CopyLike {
  checksum?: string;
  keepGitDir: boolean;
  /** --unpack: undefined means ADD's default (unpack local archives). */
  unpack?: boolean;
}
/** HEALTHCHECK: the container health test. */
export interface HealthcheckInstruction extends InstructionBase<'HEALTHCHECK'> {
  /** ['NONE'], ['CMD', ...argv] or ['CMD-SHELL', script]. */
  test: string[];
  /** Durations in nanoseconds (0 = default), as in the image config. */
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}
/** ONBUILD: a trigger stored in the image. */
export interface OnbuildInstruction extends InstructionBase<'ONBUILD'> {
  /** The trigger's source text (heredocs appended), parsed again when triggered. */
  expression: string;
}
/** STOPSIGNAL: the stop signal. */
export interface StopsignalInstruction extends InstructionBase<'STOPSIGNAL'> {
  signal: string;
}
/** MAINTAINER: deprecated author field. */
export interface MaintainerInstruction extends InstructionBase<'MAINTAINER'> {
  maintainer: string;
}

/** Any typed instruction. */
export type Instruction =
  | FromInstruction | RunInstruction | CmdInstruction | EntrypointInstruction | ShellInstruction | EnvInstruction
  | ArgInstruction | LabelInstruction | ExposeInstruction | VolumeInstruction | UserInstruction | WorkdirInstruction
  | CopyInstruction | AddInstruction | HealthcheckInstruction | OnbuildInstruction | StopsignalInstruction
  | MaintainerInstruction;

/** Every instruction name, upper case. */
export const instructionNames = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER',
  'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;
