/** Platforms in OCI terms, the host's platform, and the predefined platform ARGs. */

import { formatPlatform } from '../../registry/oci/platform.js';
import type { Platform } from '../../registry/oci/types.js';

export { formatPlatform, hostPlatform, parsePlatform } from '../../registry/oci/platform.js';
export type { Platform } from '../../registry/oci/types.js';

/** Build args that are always allowed and never reported unused. */
export const proxyArgs = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

/** TARGET* / BUILD* values for a target and build platform. */
export function predefinedArgs(target: Platform, build: Platform): Map<string, string> {
  // arm64's v8 is implied: BuildKit leaves the variant empty for it.
  const variant = (p: Platform): string => (p.architecture === 'arm64' && p.variant === 'v8' ? '' : p.variant ?? '');
  const fmt = (p: Platform): string => formatPlatform({ ...p, ...(variant(p) ? { variant: variant(p) } : { variant: undefined }) } as Platform);
  return new Map([
    ['TARGETPLATFORM', fmt(target)], ['TARGETOS', target.os], ['TARGETARCH', target.architecture], ['TARGETVARIANT', variant(target)],
    ['BUILDPLATFORM', fmt(build)], ['BUILDOS', build.os], ['BUILDARCH', build.architecture], ['BUILDVARIANT', variant(build)],
  ]);
}
