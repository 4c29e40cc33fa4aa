import { describe, expect, it } from 'vitest';
import { parseDockerfile } from './parser.js';
import { hostPlatform, planBuild, predefinedArgs, toStages, type PlanOptions } from './stages.js';

const stagesOf = (t: string) => toStages(parseDockerfile(t, { file: 'Dockerfile' }));
const plan = (t: string, o: PlanOptions = {}) => planBuild(stagesOf(t), o);

const multi = `ARG BASE=alpine
ARG TAG=3.19
FROM \${BASE}:\${TAG} AS Base
RUN echo base
FROM base AS deps
ARG WHICH=tools
COPY --from=\${WHICH} /x /x
FROM golang:1 AS tools
FROM base AS Build
RUN --mount=type=bind,from=deps,target=/d make
COPY --from=0 /etc/os-release /
FROM scratch AS unused
COPY --from=busybox:1 /bin/sh /sh
FROM base
COPY --from=build /out /out
COPY --from=tools /go /go
`;

describe('toStages', () => {
  it('groups instructions and keeps global ARGs apart', () => {
    const s = stagesOf(multi);
    expect(s.globalArgs.map((a) => a.args[0]!.key)).toEqual(['BASE', 'TAG']);
    expect(s.stages.map((x) => x.name)).toEqual(['base', 'deps', 'tools', 'build', 'unused', undefined]);
    expect(s.stages[3]!.instructions.map((i) => i.kind)).toEqual(['RUN', 'COPY']);
  });
  it('rejects instructions before FROM, duplicate names, no FROM', () => {
    expect(() => stagesOf('RUN x\nFROM a\n')).toThrow(/no build stage in current context/);
    expect(() => stagesOf('FROM a AS x\nFROM b AS X\n')).toThrow(/duplicate stage name/);
    expect(() => stagesOf('ARG A\n')).toThrow(/no FROM/);
  });
});

describe('planBuild', () => {
  it('resolves bases, refs, order and levels; prunes unused stages', () => {
    const p = plan(multi);
    expect(p.target).toBe(5);
    expect(p.stages.map((s) => [s.index, s.level, s.deps])).toEqual([
      [0, 0, []], [2, 0, []], [1, 1, [0, 2]], [3, 2, [0, 1]], [5, 3, [0, 2, 3]],
    ]);
    expect(p.levels).toEqual([[0, 2], [1], [3], [5]]);
    expect(p.stages[0]!.base).toEqual({ kind: 'image', ref: 'alpine:3.19' });
    expect(p.stages.find((s) => s.index === 1)!.base).toEqual({ kind: 'stage', index: 0 });
  });
  it('--target prunes and is case-insensitive; unknown target suggests', () => {
    const p = plan(multi, { target: 'BUILD' });
    expect(p.stages.map((s) => s.index)).toEqual([0, 2, 1, 3]);
    expect(() => plan(multi, { target: 'buld' })).toThrow(/failed to reach build target buld/);
    const u = plan(multi, { target: 'unused' });
    expect(u.stages.map((s) => [s.index, s.images])).toEqual([[4, ['busybox:1']]]);
    expect(u.stages[0]!.base).toEqual({ kind: 'scratch' });
  });
  it('build args override global defaults; unused ones are reported', () => {
    const p = plan(multi, { buildArgs: { TAG: '3.20', NOPE: '1', HTTP_PROXY: 'http://p', WHICH: 'tools' } });
    expect(p.stages[0]!.base).toEqual({ kind: 'image', ref: 'alpine:3.20' });
    expect(p.unusedBuildArgs).toEqual(['NOPE']);
    expect(p.warnings).toEqual(['one or more build-args [NOPE] were not consumed']);
    // BASE/TAG are used by FROM lines of needed stages; WHICH is declared in deps.
    expect(plan(multi, { target: 'tools', buildArgs: { WHICH: 'x', TAG: '1' } }).unusedBuildArgs).toEqual(['TAG', 'WHICH']);
  });
  it('global ARGs see earlier ones and the predefined platform ARGs', () => {
    const p = plan('ARG A=x\nARG B=${A}y\nFROM img:$B-$TARGETARCH\n', { platform: { os: 'linux', architecture: 'arm64' } });
    expect(p.stages[0]!.base).toEqual({ kind: 'image', ref: 'img:xy-arm64' });
    expect(p.globalArgs.get('TARGETPLATFORM')).toBe('linux/arm64');
  });
  it('predefined args come from the host by default', () => {
    const h = hostPlatform();
    const m = predefinedArgs(h, h);
    expect(m.get('BUILDOS')).toBe('linux');
    expect(m.get('TARGETARCH')).toBe(process.arch === 'x64' ? 'amd64' : m.get('TARGETARCH'));
    expect(plan('FROM a\n').globalArgs.get('BUILDPLATFORM')).toBe(m.get('BUILDPLATFORM'));
  });
  it('expands and checks FROM --platform', () => {
    expect(plan('FROM --platform=$BUILDPLATFORM a\n').stages[0]!.platform).toMatch(/^linux\//);
    expect(() => plan('FROM --platform=lin ux a\n')).toThrow(/FROM requires either one or three/);
    expect(() => plan('ARG P=a:b\nFROM --platform=$P a\n')).toThrow(/invalid platform "a:b"/);
  });
  it('resolves --from with stage ARGs and inherited ENV', () => {
    const p = plan('FROM a AS src\nFROM b AS p\nENV FROMSTAGE=src\nFROM p\nARG N=0\nCOPY --from=$FROMSTAGE / /\nCOPY --from=$N / /x\n');
    expect(p.stages.find((s) => s.index === 2)!.deps).toEqual([0, 1]);
  });
  it('detects cycles and bad indexes', () => {
    expect(() => plan('FROM b AS a\nFROM a AS b\n')).toThrow(/circular dependency/);
    expect(() => plan('FROM a\nCOPY --from=7 / /\n')).toThrow(/invalid stage index 7/);
    expect(() => plan('FROM a AS x\nCOPY --from=x / /\n')).toThrow(/cannot refer to itself/);
  });
});
