import { describe, expect, it } from 'vitest';
import { BenchArgsError, parseBenchArgs } from './args.js';

describe('parseBenchArgs', () => {
  it('has full-run defaults', () => {
    expect(parseBenchArgs([])).toEqual({ quick: false, cases: [], runs: 3, warmup: 1, install: true, layers: true });
  });
  it('quick means one run and no warm-up unless told', () => {
    expect(parseBenchArgs(['--quick'])).toMatchObject({ quick: true, runs: 1, warmup: 0 });
    expect(parseBenchArgs(['--quick', '--runs', '3', '--warmup=1'])).toMatchObject({ runs: 3, warmup: 1 });
  });
  it('reads cases, out, app and switches', () => {
    expect(parseBenchArgs(['--cases', 'tiny, multistage', '--out=/x.json', '--app', '/a', '--no-install', '--no-layers'])).toMatchObject({
      cases: ['tiny', 'multistage'],
      out: '/x.json',
      app: '/a',
      install: false,
      layers: false,
    });
  });
  it('rejects unknown options and bad counts', () => {
    expect(() => parseBenchArgs(['--fast'])).toThrow(BenchArgsError);
    expect(() => parseBenchArgs(['--runs', '0'])).toThrow(/--runs/);
    expect(() => parseBenchArgs(['--cases'])).toThrow(/needs a value/);
  });
});
