import { describe, expect, it } from 'vitest';
import { checkStagePlatform } from './stage-platform.js';

const loc = { file: 'Dockerfile', line: 3, column: 1 };

describe('FROM --platform', () => {
  it('passes the target platform in any spelling, and no platform at all', () => {
    expect(() => checkStagePlatform(undefined, 'linux/amd64', loc)).not.toThrow();
    expect(() => checkStagePlatform('linux/amd64', 'linux/amd64', loc)).not.toThrow();
    expect(() => checkStagePlatform('linux/x86_64', 'linux/amd64', loc)).not.toThrow();
    expect(() => checkStagePlatform('linux/arm64', 'linux/arm64/v8', loc)).not.toThrow();
  });
  it('refuses another platform with its location', () => {
    expect(() => checkStagePlatform('linux/arm64', 'linux/amd64', loc)).toThrow(expect.objectContaining({
      code: 'DOCKERFILE_STAGE', line: 3, message: 'FROM --platform=linux/arm64: building stages for another platform than linux/amd64 is not supported yet',
    }));
    expect(() => checkStagePlatform('linux/arm/v6', 'linux/arm/v7', loc)).toThrow(/another platform/);
    expect(() => checkStagePlatform('not a platform', 'linux/amd64', loc)).toThrow(/invalid FROM --platform/);
  });
});
