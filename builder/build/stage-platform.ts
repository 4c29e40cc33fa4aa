/**
 * FROM --platform: builds are for the host's platform only (issue 6), so a
 * stage asking for another one is refused with its location, instead of
 * silently starting from the host's variant of the image. The usual
 * `FROM --platform=$BUILDPLATFORM` names the host and passes. Pure logic.
 */
import { DockerfileError } from '../dockerfile/errors.js';
import { formatPlatform, parsePlatform } from '../../registry/oci/platform.js';
import type { Platform } from '../../registry/oci/types.js';

/** Default variants, so that linux/arm64 and linux/arm64/v8 are one platform. */
function variantOf(p: Platform): string | undefined {
  if (p.architecture === 'arm64') return p.variant ?? 'v8';
  if (p.architecture === 'arm') return p.variant ?? 'v7';
  return p.variant;
}

/** Throws unless the expanded `FROM --platform` value (if any) is the build's target platform (TARGETPLATFORM). */
export function checkStagePlatform(fromPlatform: string | undefined, target: string | undefined, loc: { file: string; line: number; column: number }): void {
  if (fromPlatform === undefined || fromPlatform === '' || !target) return;
  let want: Platform;
  try {
    want = parsePlatform(fromPlatform);
  } catch (err) {
    throw new DockerfileError('DOCKERFILE_STAGE', `invalid FROM --platform=${fromPlatform}`, loc, { hint: 'use os/arch[/variant], e.g. linux/arm64', cause: err });
  }
  const have = parsePlatform(target);
  if (want.os === have.os && want.architecture === have.architecture && variantOf(want) === variantOf(have)) return;
  throw new DockerfileError('DOCKERFILE_STAGE', `FROM --platform=${formatPlatform(want)}: building stages for another platform than ${formatPlatform(have)} is not supported yet`, loc, {
    hint: 'drop --platform, or use --platform=$BUILDPLATFORM',
  });
}
