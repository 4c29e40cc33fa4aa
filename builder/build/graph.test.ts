import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../dockerfile/parser.js';
import { toInstructions } from '../dockerfile/instructions.js';
import { planGraph, type GraphOptions } from './graph.js';

const host = { os: 'linux', architecture: 'amd64' };
const graphOf = (text: string, o: Partial<GraphOptions> = {}) => {
  const parsed = parseDockerfile(text, { file: 'Dockerfile' });
  return planGraph(toInstructions(parsed), { file: 'Dockerfile', buildArgs: new Map(), platform: host, escapeToken: parsed.escapeToken, ...o });
};
const ids = (text: string, o: Partial<GraphOptions> = {}) => graphOf(text, o).stages.map((s) => s.id);

describe('planGraph', () => {
  it('keeps only the stages the target needs, dependencies first', () => {
    const text = 'FROM a AS one\nFROM b AS two\nFROM c AS three\nCOPY --from=one / /\n';
    expect(ids(text)).toEqual(['one', 'three']);
    expect(ids(text, { target: 'TWO' })).toEqual(['two']);
    expect(graphOf(text).target).toBe('three');
  });

  // BuildKit (dockerfile2llb) expands --from with the stage's ARGs, then matches a stage by name, by index, else an image.
  it('keeps a stage named by COPY --from=$VAR with a global ARG', () => {
    const text = 'ARG SRC=builder\nFROM a AS builder\nRUN make\nFROM a AS other\nFROM b\nARG SRC\nCOPY --from=$SRC /out /out\n';
    expect(ids(text)).toEqual(['builder', '2']);
    expect(ids(text, { buildArgs: new Map([['SRC', 'other']]) })).toEqual(['other', '2']);
  });

  it('keeps a stage named by an in-stage ARG default, in ${} form, or by an index variable', () => {
    expect(ids('FROM a AS builder\nFROM b\nARG SRC=builder\nCOPY --from=${SRC} /out /out\n')).toEqual(['builder', '1']);
    expect(ids('FROM a\nFROM a AS skip\nFROM b\nARG N=0\nCOPY --from=$N /out /out\n')).toEqual(['0', '2']);
  });

  it('keeps stages named by RUN --mount=type=bind|cache,from=$VAR', () => {
    const text = 'ARG SRC=builder\nFROM a AS builder\nFROM a AS seed\nFROM b\nARG SRC\nARG SEED=seed\n'
      + 'RUN --mount=type=bind,from=$SRC,target=/b --mount=type=cache,from=${SEED},target=/c true\n';
    expect(ids(text)).toEqual(['builder', 'seed', '2']);
  });

  it('keeps a stage named by FROM $BASE and builds on it', () => {
    const g = graphOf('ARG BASE=builder\nFROM a AS builder\nFROM a AS unused\nFROM ${BASE}\nRUN x\n');
    expect(g.stages.map((s) => [s.id, s.from, s.baseStage])).toEqual([['builder', 'a', undefined], ['2', 'builder', 'builder']]);
  });

  it('a --from naming no stage is an image and pulls in no stage', () => {
    const g = graphOf('FROM a AS builder\nFROM b\nARG IMG=busybox:1\nCOPY --from=$IMG /bin/sh /sh\n');
    expect(g.stages.map((s) => s.id)).toEqual(['1']);
  });

  it('a FROM naming a later stage builds on it (BuildKit resolves names across the file); cycles are errors', () => {
    expect(graphOf('FROM later AS first\nFROM a AS later\n', { target: 'first' }).stages.map((s) => [s.id, s.baseStage])).toEqual([['later', undefined], ['first', 'later']]);
    expect(() => graphOf('FROM b AS a\nFROM a AS b\n')).toThrow(/circular dependency/);
  });

  it('an in-stage ARG without a default takes the global value', () => {
    const g = graphOf('ARG V=1\nFROM a\nARG V\nRUN echo $V\n');
    const arg = g.stages[0]!.instructions[0]!;
    expect(arg.kind === 'ARG' && arg.args).toEqual([{ key: 'V', value: '1' }]);
  });

  it('reports build args no needed stage consumes; FROM --platform of pruned stages is not checked', () => {
    const text = 'ARG TAG=1\nFROM a:$TAG AS one\nARG X\nFROM --platform=linux/arm64 b AS two\nARG Y\n';
    expect(graphOf(text, { target: 'one', buildArgs: new Map([['TAG', '2'], ['X', '1'], ['Y', '1'], ['HTTP_PROXY', 'p']]) }).unusedBuildArgs).toEqual(['Y']);
    expect(() => graphOf(text)).toThrow(/another platform/);
  });

  it('names unknown targets and instructions before FROM', () => {
    expect(() => graphOf('FROM a AS one\n', { target: 'two' })).toThrow(/failed to reach build target two/);
    expect(() => graphOf('RUN x\nFROM a\n')).toThrow(/before the first FROM/);
  });
});

describe('planGraph and ONBUILD', () => {
  it('a stage built on one with ONBUILD COPY --from / RUN --mount from= needs the stages the triggers name', () => {
    const text = 'FROM a AS gen\nFROM a AS seed\nFROM a AS unused\nFROM a AS base\nONBUILD COPY --from=gen /g /g\n'
      + 'ONBUILD RUN --mount=type=bind,from=seed,target=/s true\nFROM base\n';
    expect(ids(text)).toEqual(['gen', 'seed', 'base', '4']);
    // The base stage alone runs no trigger: it needs neither.
    expect(ids(text, { target: 'base' })).toEqual(['base']);
  });
});
