/** ONBUILD triggers found in a base image's config, parsed like BuildKit does before the stage's own instructions. */
import { DockerfileError } from './errors.js';
import { toInstruction, type Instruction } from './instructions.js';
import { parseDockerfile } from './parser.js';

/**
 * Parses the base image's `OnBuild` expressions into instructions (each may
 * carry heredocs). ONBUILD, FROM and MAINTAINER are rejected as triggers.
 * `file` names the source in errors, e.g. `alpine:3 ONBUILD`.
 */
export function parseOnbuildTriggers(expressions: readonly string[], file: string): Instruction[] {
  const out: Instruction[] = [];
  for (const expr of expressions) {
    const ast = parseDockerfile(expr, { file });
    for (const node of ast.nodes) {
      const name = node.value.toUpperCase();
      if (name === 'ONBUILD' || name === 'FROM' || name === 'MAINTAINER') {
        throw new DockerfileError('DOCKERFILE_ARGUMENTS', `${name} isn't allowed as an ONBUILD trigger`, { file, line: node.startLine, column: node.column });
      }
      out.push(toInstruction(node, { file, lines: ast.lines }));
    }
  }
  return out;
}
