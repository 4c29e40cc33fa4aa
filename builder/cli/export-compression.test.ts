import { describe, expect, it } from 'vitest';
import { parseCompressionChoice } from './export-compression.js';
import { buildMetadata } from './commands/build.js';

describe('parseCompressionChoice', () => {
  it('defaults to gzip at its default level and checks the level per format', () => {
    expect(parseCompressionChoice(undefined, undefined)).toEqual({ format: 'gzip' });
    expect(parseCompressionChoice('zstd', '19')).toEqual({ format: 'zstd', level: 19 });
    expect(() => parseCompressionChoice('gzip', '10')).toThrow(/0 to 9/);
    expect(() => parseCompressionChoice('xz', undefined)).toThrow(/gzip or zstd/);
  });
});

describe('buildMetadata', () => {
  it('names the pushed manifest digest when pushed, the local one otherwise; the image ID either way', () => {
    const r = { descriptor: { digest: 'sha256:local' }, imageId: 'sha256:config', tags: ['r/a:1'], size: 3, pushed: [] as Array<{ digest: string }> };
    expect(buildMetadata(r)).toEqual({ 'containerimage.digest': 'sha256:local', 'containerimage.config.digest': 'sha256:config', 'image.name': 'r/a:1', size: 3 });
    expect(buildMetadata({ ...r, pushed: [{ digest: 'sha256:pushed' }] })).toMatchObject({ 'containerimage.digest': 'sha256:pushed', 'rbuild.local.digest': 'sha256:local' });
  });
});
