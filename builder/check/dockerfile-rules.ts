/**
 * The rules judged from the Dockerfile alone (`rbuild check -f Dockerfile`),
 * each pointing at a line. Some repeat image rules without the image's facts
 * (USER root, EXPOSE, shell form, HEALTHCHECK); base pinning, ADD --checksum
 * and ARG secrets can only be judged here.
 */
import { lastInstruction, stageChain, type DockerfileSource } from './source-map.js';
import { secretVariable } from './patterns.js';
import { RULES, type RuleId } from './rules.js';
import type { Finding } from './types.js';

/** Which Dockerfile rules to run: all of them, or only those an image check cannot judge. */
export type DockerfileRuleSet = 'all' | 'source-only';

/** Runs the Dockerfile rules. */
export function checkDockerfileSource(src: DockerfileSource, set: DockerfileRuleSet = 'all'): Finding[] {
  const file = src.file;
  const f = (id: RuleId, message: string, line: number): Finding => ({ ruleId: id, severity: RULES[id].severity, message, fix: RULES[id].fix, location: { file, line } });
  const out: Finding[] = [];
  const chain = stageChain(src);
  const fromLine = src.final.from.loc.line;

  if (set === 'all') {
    const user = lastInstruction(src, 'USER');
    if (!user) out.push(f('RB001', "no USER instruction: the image runs as the base image's user (root for most bases)", fromLine));
    else if (/^(root|0)(:|$)/.test(user.user.trim())) out.push(f('RB001', `the image runs as root: USER ${user.user}`, user.loc.line));

    for (const stage of chain) {
      for (const i of stage.instructions) {
        if (i.kind !== 'EXPOSE') continue;
        for (const p of i.ports) {
          const port = Number(p.split('/')[0]!.split('-')[0]);
          if (!p.includes('$') && Number.isInteger(port) && port < 1024) out.push(f('RB006', `EXPOSE ${p}: port ${port} is below 1024`, i.loc.line));
        }
      }
    }

    const entry = lastInstruction(src, 'ENTRYPOINT');
    const cmd = lastInstruction(src, 'CMD');
    if (entry?.prependShell) out.push(f('RB013', `ENTRYPOINT in shell form: ${entry.original}`, entry.loc.line));
    else if (!entry && cmd?.prependShell) out.push(f('RB013', `CMD in shell form: ${cmd.original}`, cmd.loc.line));

    const hc = lastInstruction(src, 'HEALTHCHECK');
    if (!hc || hc.test[0] === 'NONE') out.push(f('RB014', 'no HEALTHCHECK instruction', hc?.loc.line ?? fromLine));

    for (const stage of chain) {
      for (const i of stage.instructions) {
        if (i.kind !== 'ENV') continue;
        for (const kv of i.env) {
          const why = secretVariable(kv.key, kv.value);
          if (why) out.push(f('RB010', `ENV ${kv.key} is kept in the image config: ${why}`, i.loc.line));
        }
      }
    }
  }

  // ARGs: every stage's (a RUN that uses one records it in the history) and the global ones.
  for (const i of [...src.stages.globalArgs, ...src.stages.stages.flatMap((s) => s.instructions)]) {
    if (i.kind !== 'ARG') continue;
    for (const a of i.args) {
      const why = secretVariable(a.key, a.value);
      if (why) out.push(f('RB010', `ARG ${a.key}: ${why}; build args are kept in the image history`, i.loc.line));
    }
  }

  const names = new Set(src.stages.stages.map((s) => s.name).filter(Boolean));
  for (const s of src.stages.stages) {
    const ref = s.from.image;
    if (ref.toLowerCase() === 'scratch' || names.has(ref.toLowerCase()) || ref.includes('@sha256:')) continue;
    out.push(f('RB011', `FROM ${ref} is not pinned by digest`, s.from.loc.line));
  }

  for (const s of src.stages.stages) {
    for (const i of s.instructions) {
      if (i.kind !== 'ADD' || i.checksum) continue;
      for (const url of i.sources.filter((x) => /^https?:\/\//.test(x))) out.push(f('RB012', `ADD ${url} without --checksum`, i.loc.line));
    }
  }
  return out.sort((a, b) => (a.location.line ?? 0) - (b.location.line ?? 0));
}
