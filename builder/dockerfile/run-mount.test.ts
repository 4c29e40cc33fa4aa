import { describe, expect, it } from 'vitest';
import { parseRunMount, RunMountError, splitCsv } from './run-mount.js';

describe('RUN --mount values', () => {
  it('defaults to a read-only bind mount', () => {
    expect(parseRunMount('target=/src', 0)).toEqual({ type: 'bind', target: '/src', readonly: true });
    expect(parseRunMount('type=bind,src=.,dst=/src,rw', 0)).toEqual({ type: 'bind', source: '.', target: '/src', readonly: false });
    expect(parseRunMount('type=bind,from=build,source=/out,destination=/in,ro=true', 0)).toEqual({ type: 'bind', from: 'build', source: '/out', target: '/in', readonly: true });
  });
  it('cache mounts: id defaults to the target, sharing, mode/uid/gid', () => {
    expect(parseRunMount('type=cache,target=/var/cache/apt,sharing=locked,mode=0755,uid=100,gid=101', 0)).toEqual({
      type: 'cache', target: '/var/cache/apt', id: '/var/cache/apt', sharing: 'locked', readonly: false, mode: 0o755, uid: 100, gid: 101,
    });
    expect(parseRunMount('type=cache,id=go,target=/root/.cache', 0)).toMatchObject({ id: 'go', sharing: 'shared' });
  });
  it('secret mounts: id from target, env-only, required', () => {
    expect(parseRunMount('type=secret,id=npmrc', 0)).toEqual({ type: 'secret', id: 'npmrc', target: '/run/secrets/npmrc', required: false, mode: 0o400, uid: 0, gid: 0 });
    expect(parseRunMount('type=secret,target=/root/.npmrc,required', 0)).toMatchObject({ id: '.npmrc', target: '/root/.npmrc', required: true });
    expect(parseRunMount('type=secret,id=tok,env=TOKEN', 0)).toEqual({ type: 'secret', id: 'tok', env: 'TOKEN', required: false, mode: 0o400, uid: 0, gid: 0 });
  });
  it('ssh and tmpfs mounts', () => {
    expect(parseRunMount('type=ssh,required=true', 2)).toEqual({ type: 'ssh', id: 'default', target: '/run/buildkit/ssh_agent.2', required: true, mode: 0o600, uid: 0, gid: 0 });
    expect(parseRunMount('type=tmpfs,target=/tmp,size=1g', 0)).toEqual({ type: 'tmpfs', target: '/tmp', size: 1024 ** 3 });
  });
  it('expands values but not the type', () => {
    const env: Record<string, string> = { T: '/x', I: 'id1' };
    const expand = (w: string): string => w.replace(/\$(\w+)/g, (_, k: string) => env[k] ?? '');
    expect(parseRunMount('type=cache,target=$T,id=$I', 0, expand)).toMatchObject({ target: '/x', id: 'id1' });
  });
  it('rejects bad values', () => {
    expect(() => parseRunMount('type=volume,target=/x', 0)).toThrow(RunMountError);
    expect(() => parseRunMount('type=cache', 0)).toThrow(/requires a target/);
    expect(() => parseRunMount('type=cache,target=/x,sharing=maybe', 0)).toThrow(/sharing/);
    expect(() => parseRunMount('type=tmpfs,target=/x,from=a', 0)).toThrow(/unexpected key 'from'/);
    expect(() => parseRunMount('type=cache,target=/x,mode=999', 0)).toThrow(/invalid value for mode/);
    expect(() => parseRunMount('type=secret', 0)).toThrow(/requires an id/);
    expect(() => parseRunMount('type=bind,target=/x,readonly=maybe', 0)).toThrow(/invalid value for readonly/);
  });
  it('splits CSV with quotes like Go', () => {
    expect(splitCsv('a=1,"b=2,3",c')).toEqual(['a=1', 'b=2,3', 'c']);
    expect(splitCsv('"x=""q"""')).toEqual(['x="q"']);
    expect(() => splitCsv('a"b')).toThrow(/bare "/);
  });
});
