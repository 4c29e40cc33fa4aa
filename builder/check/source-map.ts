/**
 * Ties an image to the Dockerfile it was built from: the final stage's
 * instructions, the line of the last USER/EXPOSE/..., and which line made
 * each of the image's own layers (matched through the history's created_by).
 */
import type { Instruction, Stage, Stages } from '../dockerfile/index.js';
import type { LayerFacts } from './types.js';

/** The Dockerfile facts image rules point at. */
export interface DockerfileSource {
  file: string;
  stages: Stages;
  /** The stage the image is (the last one, or --target). */
  final: Stage;
}

/** The source for a parsed Dockerfile; `target` is a stage name or index (default: the last stage). */
export function dockerfileSource(file: string, stages: Stages, target?: string): DockerfileSource {
  let final = stages.stages[stages.stages.length - 1]!;
  if (target !== undefined) {
    final = stages.stages.find((s) => s.name === target.toLowerCase()) ?? (/^\d+$/.test(target) ? stages.stages[Number(target)] : undefined) ?? final;
  }
  return { file, stages, final };
}

/** The stages the final stage is built on (FROM <stage> chains), final first. */
export function stageChain(src: DockerfileSource): Stage[] {
  const chain: Stage[] = [src.final];
  for (let s = src.final; chain.length <= src.stages.stages.length; ) {
    const ref = s.from.image.toLowerCase();
    const next = src.stages.stages.find((x) => x.name === ref && x.index < s.index);
    if (!next) break;
    chain.push(next);
    s = next;
  }
  return chain;
}

/** The last instruction of a kind that affects the image (the final stage first, then the stages it is built on). */
export function lastInstruction<K extends Instruction['kind']>(src: DockerfileSource, kind: K): Extract<Instruction, { kind: K }> | undefined {
  for (const stage of stageChain(src)) {
    const hit = [...stage.instructions].reverse().find((i) => i.kind === kind);
    if (hit) return hit as Extract<Instruction, { kind: K }>;
  }
  return undefined;
}

const layerKinds = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);

function matches(instr: Instruction, createdBy: string): boolean {
  const cb = createdBy.replace(/\s+# (rbuild|buildkit)$/, '').trim();
  if (cb === instr.original.trim()) return true;
  if (instr.kind === 'RUN') return cb.startsWith('RUN') && cb.endsWith(instr.cmd.join(' '));
  return false;
}

/** Dockerfile line of each of the image's own layers, by layer index, where the history tells. */
export function layerLines(src: DockerfileSource, layers: readonly LayerFacts[]): Map<number, number> {
  const out = new Map<number, number>();
  const candidates = src.final.instructions.filter((i) => layerKinds.has(i.kind));
  const own = layers.filter((l) => !l.base);
  let j = 0;
  for (const layer of own) {
    if (layer.createdBy === undefined) continue;
    for (let k = j; k < candidates.length; k++) {
      if (matches(candidates[k]!, layer.createdBy)) {
        out.set(layer.index, candidates[k]!.loc.line);
        j = k + 1;
        break;
      }
    }
  }
  // Without a usable history, RUN/COPY/ADD line up one to one with the own layers when the counts agree.
  if (out.size === 0) {
    const producing = candidates.filter((i) => i.kind !== 'WORKDIR');
    if (producing.length === own.length) own.forEach((l, i) => out.set(l.index, producing[i]!.loc.line));
  }
  return out;
}
