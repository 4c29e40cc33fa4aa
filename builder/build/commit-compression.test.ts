import { describe, expect, it } from 'vitest';
import { commitDiffOptions, dockerLayerType } from './commit-compression.js';

describe('commitDiffOptions', () => {
  it('commits uncompressed unless the build asks for a format or a level', () => {
    expect(commitDiffOptions({})).toEqual({ compression: 'none' });
    expect(commitDiffOptions({ sourceDateEpoch: 0 })).toEqual({ compression: 'none', sourceDateEpoch: 0 });
    expect(commitDiffOptions({ compressionLevel: 1 })).toEqual({ compression: 'gzip', level: 1 });
    expect(commitDiffOptions({ compressionFormat: 'zstd' })).toEqual({ compression: 'zstd' });
    expect(commitDiffOptions({ compressionFormat: 'zstd', compressionLevel: 9 })).toEqual({ compression: 'zstd', level: 9 });
  });
});

describe('dockerLayerType', () => {
  it('names OCI layer types as Docker schema2 does', () => {
    expect(dockerLayerType('application/vnd.oci.image.layer.v1.tar')).toBe('application/vnd.docker.image.rootfs.diff.tar');
    expect(dockerLayerType('application/vnd.oci.image.layer.v1.tar+gzip')).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    expect(dockerLayerType('application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
  });
});
