import { describe, expect, it } from 'vitest';
import { DockerfileError, formatDockerfileError } from './errors.js';
import { expandInstruction, toInstructions, type Instruction } from './instructions.js';
import { parseDockerfile } from './parser.js';
import { ShellLex } from './shell-lex.js';

const typed = (text: string): Instruction[] => toInstructions(parseDockerfile(text, { file: 'Dockerfile' }));
const one = (line: string): Instruction => typed(`FROM a\n${line}\n`)[1]!;
function errOf(text: string): DockerfileError {
  try {
    typed(text);
  } catch (e) {
    if (e instanceof DockerfileError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('typed instructions', () => {
  it('FROM with platform and stage name', () => {
    expect(typed('FROM --platform=$BUILDPLATFORM golang:1 AS Build\n')[0]).toMatchObject({
      kind: 'FROM', image: 'golang:1', stageName: 'build', platform: '$BUILDPLATFORM', loc: { line: 1, column: 1 },
    });
  });
  it('RUN shell and exec forms, mounts, network, security', () => {
    expect(one('RUN echo hi')).toMatchObject({ cmd: ['echo hi'], prependShell: true });
    expect(one('RUN ["ls", "-l"]')).toMatchObject({ cmd: ['ls', '-l'], prependShell: false });
    const r = one('RUN --mount=type=cache,target=/root/.cache,sharing=locked --mount=type=secret,id=tok --mount=type=bind,from=build,source=/out,target=/in --mount=type=tmpfs,target=/t,size=64m --mount=type=ssh --network=none --security=insecure make');
    expect(r).toMatchObject({
      kind: 'RUN', network: 'none', security: 'insecure',
      mounts: [
        { type: 'cache', target: '/root/.cache', id: '/root/.cache', sharing: 'locked', readonly: false },
        { type: 'secret', id: 'tok', target: '/run/secrets/tok', required: false, mode: 0o400 },
        { type: 'bind', from: 'build', source: '/out', target: '/in', readonly: true },
        { type: 'tmpfs', target: '/t', size: 64 * 1024 * 1024 },
        { type: 'ssh', id: 'default', target: '/run/buildkit/ssh_agent.4' },
      ],
    });
  });
  it('RUN heredoc script', () => {
    expect(one('RUN <<EOF\necho $A\nEOF')).toMatchObject({ cmd: ['<<EOF'], files: [{ name: 'EOF', data: 'echo $A\n', expand: true }] });
  });
  it('ENV, ARG, LABEL forms', () => {
    expect(one('ENV a b c')).toMatchObject({ env: [{ key: 'a', value: 'b c', noDelim: true }] });
    expect(one('ENV a=1 b="2 3"')).toMatchObject({ env: [{ key: 'a', value: '1' }, { key: 'b', value: '"2 3"' }] });
    expect(one('ARG x y=2 z=')).toMatchObject({ args: [{ key: 'x' }, { key: 'y', value: '2' }, { key: 'z', value: '' }] });
    expect(one('LABEL a=b "c d"=e')).toMatchObject({ labels: [{ key: 'a', value: 'b' }, { key: '"c d"', value: 'e' }] });
  });
  it('COPY and ADD flags and heredoc sources', () => {
    expect(one('COPY --from=build --chown=1:1 --chmod=755 --link --parents --exclude=*.md --exclude=x a b /d/')).toMatchObject({
      kind: 'COPY', from: 'build', chown: '1:1', chmod: '755', link: true, parents: true, exclude: ['*.md', 'x'], sources: ['a', 'b'], dest: '/d/',
    });
    expect(one('COPY --chmod=u+x,go-w a /b')).toMatchObject({ chmod: 'u+x,go-w' });
    expect(one('ADD --checksum=sha256:abc --keep-git-dir --unpack=false https://x/y.tgz /y')).toMatchObject({
      kind: 'ADD', checksum: 'sha256:abc', keepGitDir: true, unpack: false,
    });
    expect(one('COPY <<-A <<"B" /dst/\n\tone $x\n\tA\ntwo $x\nB')).toMatchObject({
      sources: [], contents: [{ path: 'A', data: 'one $x\n', expand: true }, { path: 'B', data: 'two $x\n', expand: false }],
    });
  });
  it('HEALTHCHECK', () => {
    expect(one('HEALTHCHECK NONE')).toMatchObject({ test: ['NONE'] });
    expect(one('HEALTHCHECK --interval=5s --timeout=1m30s --start-period=1s --start-interval=500ms --retries=3 CMD curl -f x')).toMatchObject({
      test: ['CMD-SHELL', 'curl -f x'], interval: 5e9, timeout: 90e9, startPeriod: 1e9, startInterval: 5e8, retries: 3,
    });
    expect(one('HEALTHCHECK CMD ["a", "b"]')).toMatchObject({ test: ['CMD', 'a', 'b'] });
  });
  it('HEALTHCHECK NONE ignores any flags, as BuildKit never parses them there', () => {
    expect(one('HEALTHCHECK --interval=5s NONE')).toMatchObject({ test: ['NONE'], interval: 0, retries: 0 });
    expect(one('HEALTHCHECK --bogus --retries=x NONE')).toMatchObject({ test: ['NONE'] });
    expect(errOf('FROM a\nHEALTHCHECK --bogus CMD x\n').message).toMatch(/unknown flag: bogus/);
  });
  it('ARG and STOPSIGNAL ignore flags; `--` ends the flags', () => {
    expect(one('ARG --foo=bar x=1')).toMatchObject({ kind: 'ARG', args: [{ key: 'x', value: '1' }] });
    expect(one('STOPSIGNAL --foo SIGTERM')).toMatchObject({ kind: 'STOPSIGNAL', signal: 'SIGTERM' });
    // the parser (BuildKit's extractBuilderFlags) ends flags at `--`: what follows is arguments
    expect(one('COPY --link -- --nonsense a /b')).toMatchObject({ kind: 'COPY', link: true, sources: ['--nonsense', 'a'], dest: '/b' });
    expect(errOf('FROM a\nENV --foo a=b\n').message).toMatch(/unknown flag: foo/);
  });
  it('RUN with no arguments is accepted (BuildKit runs `sh -c ""`)', () => {
    expect(one('RUN')).toMatchObject({ kind: 'RUN', cmd: [], prependShell: true });
    expect(one('RUN --network=none')).toMatchObject({ kind: 'RUN', cmd: [], network: 'none' });
    expect(one('RUN []')).toMatchObject({ kind: 'RUN', cmd: [], prependShell: false });
  });
  it('RUN --device (BuildKit labs CDI devices)', () => {
    expect(one('RUN --device=vendor.com/gpu=all,required --device=name=x echo')).toMatchObject({
      devices: [{ name: 'vendor.com/gpu=all', required: true }, { name: 'x', required: false }],
    });
    expect(one('RUN echo')).toMatchObject({ devices: [] });
    expect(errOf('FROM a\nRUN --device=a,b echo\n')).toMatchObject({ code: 'DOCKERFILE_FLAG', line: 2, column: 5, message: "invalid field 'b' must be a key=value pair" });
    expect(errOf('FROM a\nRUN --device echo\n').message).toMatch(/missing a value on flag: device/);
  });
  it('every flag of BuildKit\'s ADD and COPY; ADD has no --parents there', () => {
    expect(one('ADD --chown=1 --chmod=644 --link --exclude=a --exclude=b --checksum=sha256:0 --keep-git-dir=false --unpack x /y')).toMatchObject({
      kind: 'ADD', chown: '1', chmod: '644', link: true, exclude: ['a', 'b'], checksum: 'sha256:0', keepGitDir: false, unpack: true,
    });
    expect(one('COPY --parents --exclude=*.md --from=s a /b')).toMatchObject({ kind: 'COPY', parents: true, exclude: ['*.md'] });
    expect(errOf('FROM a\nADD --parents a /b\n')).toMatchObject({ message: 'unknown flag: parents', hint: '--parents is a flag of COPY, not of ADD' });
  });
  it('the rest', () => {
    expect(one('EXPOSE 80 80/udp 8000-8010/tcp')).toMatchObject({ ports: ['80', '80/udp', '8000-8010/tcp'] });
    // BuildKit checks port specs at dispatch only: typing accepts anything.
    expect(one('EXPOSE 127.0.0.1:8080:80 80/xyz')).toMatchObject({ ports: ['127.0.0.1:8080:80', '80/xyz'] });
    expect(one('VOLUME ["/a", "/b"]')).toMatchObject({ volumes: ['/a', '/b'] });
    expect(one('VOLUME /a /b')).toMatchObject({ volumes: ['/a', '/b'] });
    expect(one('USER app:app')).toMatchObject({ user: 'app:app' });
    expect(one('WORKDIR /w')).toMatchObject({ path: '/w' });
    expect(one('SHELL ["/bin/bash", "-c"]')).toMatchObject({ shell: ['/bin/bash', '-c'] });
    expect(one('STOPSIGNAL SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
    expect(one('MAINTAINER me')).toMatchObject({ maintainer: 'me' });
    expect(one('ONBUILD RUN echo hi')).toMatchObject({ kind: 'ONBUILD', expression: 'RUN echo hi' });
    expect(one('CMD ["a"]')).toMatchObject({ cmd: ['a'], prependShell: false });
    expect(one('ENTRYPOINT exec a')).toMatchObject({ cmd: ['exec a'], prependShell: true });
  });
});

describe('instruction errors', () => {
  it('unknown instruction with a suggestion and a caret', () => {
    const text = 'FROM a\n  RUNN echo\n';
    const e = errOf(text);
    expect(e).toMatchObject({ code: 'DOCKERFILE_UNKNOWN_INSTRUCTION', line: 2, column: 3, hint: 'did you mean RUN?' });
    expect(formatDockerfileError(e, text)).toBe('Dockerfile:2:3: unknown instruction: RUNN\n 2 |   RUNN echo\n   |   ^\nhint: did you mean RUN?');
  });
  it('unknown flag, flag of another instruction, bad chmod, bad JSON', () => {
    expect(errOf('FROM a\nCOPY --frm=x a b\n')).toMatchObject({ code: 'DOCKERFILE_FLAG', line: 2, column: 6, message: 'unknown flag: frm', hint: 'did you mean --from?' });
    expect(errOf('FROM a\nADD --from=x a b\n')).toMatchObject({ code: 'DOCKERFILE_FLAG', hint: '--from is a flag of COPY, not of ADD' });
    expect(errOf('FROM a\nCOPY --chmod=999 a b\n')).toMatchObject({ code: 'DOCKERFILE_FLAG', message: 'invalid chmod parameter: 999' });
    expect(errOf('FROM a\nCOPY --link=maybe a b\n').message).toMatch(/expecting boolean/);
    expect(errOf('FROM a\nCOPY --from a b\n').message).toMatch(/missing a value on flag: from/);
    expect(errOf('FROM a\nCMD ["a", {"b": 1}]\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2, message: /strings only/ });
    expect(errOf('FROM a\nRUN --mount=type=nope x\n').message).toMatch(/unsupported mount type/);
    expect(errOf('FROM a\nRUN --mount=type=cache x\n').message).toMatch(/requires a target/);
    expect(errOf('FROM a\nRUN --network=bridge x\n').message).toMatch(/unsupported network/);
  });
  it('argument errors', () => {
    expect(errOf('FROM a b\n').message).toMatch(/one or three/);
    expect(errOf('FROM a AS 1x\n').message).toMatch(/invalid name for build stage/);
    expect(errOf('FROM a\nCOPY a\n').message).toMatch(/at least two/);
    expect(errOf('FROM a\nSHELL /bin/sh\n').message).toMatch(/JSON form/);
    expect(errOf('FROM a\nEXPOSE\n').message).toMatch(/EXPOSE requires at least one argument/);
    expect(errOf('FROM a\nONBUILD FROM x\n').message).toMatch(/isn't allowed as an ONBUILD trigger/);
    expect(errOf('FROM a\nONBUILD ONBUILD RUN x\n').message).toMatch(/Chaining ONBUILD/);
    expect(errOf('FROM a\nHEALTHCHECK --interval=1us CMD x\n').message).toMatch(/less than 1ms/);
    expect(errOf('FROM a\nHEALTHCHECK FOO x\n').message).toMatch(/Unknown type/);
    expect(errOf('FROM a\nWORKDIR\n').message).toMatch(/exactly one/);
  });
});

describe('expandInstruction', () => {
  const lex = new ShellLex();
  const env = { A: 'x', B: 'two words', M: '0644', P: '8080', ID: 'c1' };
  it('expands the fields BuildKit expands', () => {
    expect(expandInstruction(one('ENV $A=${B}') as Instruction, env, lex)).toMatchObject({ env: [{ key: 'x', value: 'two words' }] });
    expect(expandInstruction(one('COPY --chmod=$M --chown=$A --from=$A "$A" /d/$A'), env, lex)).toMatchObject({ chmod: '0644', chown: 'x', from: 'x', sources: ['x'], dest: '/d/x' });
    expect(expandInstruction(one('EXPOSE $P'), env, lex)).toMatchObject({ ports: ['8080/tcp'] });
    expect(expandInstruction(one('WORKDIR /w/$A'), env, lex)).toMatchObject({ path: '/w/x' });
    expect(expandInstruction(one('RUN --mount=type=cache,id=$ID,target=/c echo $A'), env, lex)).toMatchObject({ cmd: ['echo $A'], mounts: [{ id: 'c1' }] });
    expect(expandInstruction(one('COPY <<EOF /f\n"$A"\nEOF'), env, lex)).toMatchObject({ contents: [{ data: '"x"\n' }] });
    expect(expandInstruction(one('COPY <<"EOF" /f\n$A\nEOF'), env, lex)).toMatchObject({ contents: [{ data: '$A\n' }] });
  });
  it('EXPOSE expands to the container ports BuildKit records', () => {
    const e = { PS: '90 91/udp', H: '127.0.0.1' };
    expect(expandInstruction(one('EXPOSE $H:8080:80 8000-8002/UDP [::1]::443 $PS "7"'), e, lex)).toMatchObject({
      ports: ['80/tcp', '8000/udp', '8001/udp', '8002/udp', '443/tcp', '90/tcp', '91/udp', '7/tcp'],
    });
    expect(() => expandInstruction(one('EXPOSE 80/xyz'), e, lex)).toThrow(expect.objectContaining({ code: 'DOCKERFILE_ARGUMENTS', line: 2, message: 'invalid proto: xyz' }));
    expect(() => expandInstruction(one('EXPOSE 1.2.3:80:80'), e, lex)).toThrow(/invalid IP address: 1.2.3/);
  });
  it('records used names and rejects a bad expanded chmod', () => {
    const used = new Set<string>();
    expandInstruction(one('USER $A'), env, lex, { used });
    expect([...used]).toEqual(['A']);
    expect(() => expandInstruction(one('COPY --chmod=$B a b'), env, lex)).toThrow(/invalid chmod/);
    expect(() => expandInstruction(one('USER ${A'), env, lex)).toThrow(expect.objectContaining({ code: 'DOCKERFILE_EXPANSION', line: 2 }));
  });
});
