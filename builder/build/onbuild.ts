/** ONBUILD triggers of a base image: each parsed with the frontend's parser and run as an instruction at the start of the stage. */
import { parseDockerfile } from '../dockerfile/parser.js';
import { toInstructions } from '../dockerfile/instructions.js';
import { BuildError } from './errors.js';
import type { Step } from './build-types.js';

/** Parses a base image's triggers into steps; refuses what Docker refuses in a trigger. */
export function parseTriggers(triggers: readonly string[], base: string): Step[] {
  const out: Step[] = [];
  triggers.forEach((t, i) => {
    const parsed = parseDockerfile(`${t}\n`, { file: `${base} ONBUILD[${i}]` });
    for (const instr of toInstructions(parsed)) {
      if (instr.kind === 'FROM' || instr.kind === 'ONBUILD' || instr.kind === 'MAINTAINER') {
        throw new BuildError('BAD_ONBUILD', `ONBUILD trigger of ${base} is not allowed: ${t}`, 'FROM, ONBUILD and MAINTAINER cannot be triggers');
      }
      out.push(instr);
    }
  });
  return out;
}
