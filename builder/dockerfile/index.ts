/** The Dockerfile frontend's public API: parse, type, plan, expand, ignore, report. */
export { parseDockerfile, dumpAst, dumpNode, type Node, type ParseResult, type ParseWarning, type Directive, type Heredoc } from './parser.js';
export { ShellLex, ShellLexError, type EnvLike, type ProcessWordResult } from './shell-lex.js';
export * from './instructions.js';
export * from './stages.js';
export { createIgnoreMatcher, loadDockerignore, parseDockerignore, DockerignoreError, type IgnoreMatcher, type LoadedDockerignore } from './dockerignore.js';
export { DockerfileError, formatDockerfileError, type DockerfileErrorCode } from './errors.js';
export { readDockerfile, loadDockerfile, type LoadedDockerfile } from './load.js';
export { planToText, planToJSON, expandPlannedStages, formatInstruction, type PlannedInstruction } from './plan-format.js';
export { parseOnbuildTriggers } from './onbuild.js';
export { resolveHeredocCommand, type ResolvedCommand } from './heredoc-command.js';
export { parseCheckDirective, type CheckDirective } from './parser-directives.js';
