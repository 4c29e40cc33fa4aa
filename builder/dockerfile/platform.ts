/** Platforms in OCI terms, the host's platform, and the predefined platform ARGs. */

/** An OCI platform. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Formats `linux/arm/v7`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Parses `linux/arm64`, `linux/arm/v7`, `amd64` (os defaults to linux). */
export function parsePlatform(s: string): Platform {
  const parts = s.toLowerCase().split('/');
  if (parts.length === 1) return { os: 'linux', architecture: normaliseArch(parts[0]!) };
  const p: Platform = { os: parts[0]!, architecture: normaliseArch(parts[1]!) };
  if (parts[2]) p.variant = parts[2];
  return p;
}

function normaliseArch(a: string): string {
  return ({ x86_64: 'amd64', x86: '386', aarch64: 'arm64' } as Record<string, string>)[a] ?? a;
}

/** The platform of this machine, in OCI terms. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };
  const p: Platform = { os: 'linux', architecture: arch[process.arch] ?? process.arch };
  if (process.arch === 'arm') {
    const v = (process.config.variables as unknown as Record<string, unknown>)['arm_version'];
    p.variant = `v${typeof v === 'string' || typeof v === 'number' ? v : '7'}`;
  }
  if (process.arch === 'arm64') p.variant = 'v8';
  return p;
}

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
