import { describe, expect, it } from 'vitest';
import { parseOutput } from './output.js';

describe('--output', () => {
  it('parses the buildx forms', () => {
    expect(parseOutput('type=local,dest=out')).toEqual({ type: 'local', dest: 'out' });
    expect(parseOutput('out/')).toEqual({ type: 'local', dest: 'out/' });
    expect(parseOutput('type=oci,dest=-')).toEqual({ type: 'oci', dest: '-' });
    expect(parseOutput('type=docker,dest=i.tar')).toEqual({ type: 'docker', dest: 'i.tar' });
    expect(parseOutput('type=tar,dest=fs.tar')).toEqual({ type: 'tar', dest: 'fs.tar' });
    expect(parseOutput('type=image')).toEqual({ type: 'image' });
  });
  it('rejects what it cannot do', () => {
    expect(() => parseOutput('type=oci')).toThrow(/needs dest=/);
    expect(() => parseOutput('type=weird,dest=x')).toThrow(/unknown --output type/);
    expect(() => parseOutput('type=local,dest=-')).toThrow(/directory/);
    expect(() => parseOutput('type=tar,dest=x,bogus=1')).toThrow(/unknown key/);
  });
});
