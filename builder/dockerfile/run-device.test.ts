import { describe, expect, it } from 'vitest';
import { parseRunDevice, RunDeviceError } from './run-device.js';

// Cases from BuildKit's instructions.ParseDevice.
describe('parseRunDevice', () => {
  it('parses names, CDI names with =, and required', () => {
    expect(parseRunDevice('vendor1.com/device=foo')).toEqual({ name: 'vendor1.com/device=foo', required: false });
    expect(parseRunDevice('vendor1.com/device=foo,required')).toEqual({ name: 'vendor1.com/device=foo', required: true });
    expect(parseRunDevice('name=vendor1.com/device,required=false')).toEqual({ name: 'vendor1.com/device', required: false });
    expect(parseRunDevice('required=T,gpu')).toEqual({ name: 'gpu', required: true });
    expect(parseRunDevice('"a,b",required=1')).toEqual({ name: 'a,b', required: true });
  });
  it('rejects what BuildKit rejects', () => {
    expect(() => parseRunDevice('a,b')).toThrow("invalid field 'b' must be a key=value pair");
    expect(() => parseRunDevice('a,name=b')).toThrow('device name already set to a');
    expect(() => parseRunDevice('a,required=maybe')).toThrow('invalid value for required: maybe');
    expect(() => parseRunDevice('a,foo=bar')).toThrow("unexpected key 'foo' in 'foo=bar'");
    expect(() => parseRunDevice('"a')).toThrow(RunDeviceError);
  });
});
