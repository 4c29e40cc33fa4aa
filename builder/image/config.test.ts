import { describe, expect, it } from 'vitest';
import { envMap, resolveWorkdir, scratchConfig, withCmd, withEntrypoint, withEnv, withExposedPorts, withHistory, withWorkdir } from './config.js';

const base = scratchConfig({ os: 'linux', architecture: 'amd64' });

describe('image config edits', () => {
  it('ENV replaces in place and appends new keys', () => {
    const c = withEnv(withEnv(base, [['A', '1']]), [['PATH', '/x'], ['B', '2']]);
    expect(c.config?.Env).toEqual(['PATH=/x', 'A=1', 'B=2']);
    expect(envMap(c).get('B')).toBe('2');
    expect(base.config?.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  });
  it('ENTRYPOINT clears an inherited CMD, a later CMD sets it again', () => {
    const c = withEntrypoint(withCmd(base, ['sh']), ['./entry']);
    expect(c.config?.Cmd).toBeNull();
    expect(withCmd(c, ['./app']).config?.Cmd).toEqual(['./app']);
  });
  it('EXPOSE defaults to tcp', () => {
    expect(withExposedPorts(base, ['80', '53/UDP']).config?.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
  });
  it('WORKDIR resolves relative paths', () => {
    expect(resolveWorkdir(undefined, 'app')).toBe('/app');
    expect(resolveWorkdir('/a/b', '../c/./d/')).toBe('/a/c/d');
    expect(withWorkdir(withWorkdir(base, '/srv'), 'x').config?.WorkingDir).toBe('/srv/x');
  });
  it('history marks empty layers', () => {
    const c = withHistory(withHistory(base, { created_by: 'ENV' }), { created_by: 'RUN' }, 'sha256:ab');
    expect(c.history).toEqual([{ created_by: 'ENV', empty_layer: true }, { created_by: 'RUN' }]);
    expect(c.rootfs.diff_ids).toEqual(['sha256:ab']);
  });
});
