/**
 * Platforms in OCI terms: the host's, parsing `--platform`, and choosing a
 * manifest from an index. Pure logic; the one copy rbuild has (builder imports it).
 */
import type { Descriptor, Platform } from './types.js';

/** Thrown for a `--platform` that is not [os/]arch[/variant]. */
export class PlatformError extends Error {
  readonly code = 'INVALID_PLATFORM';
  constructor(message: string) {
    super(message);
    this.name = 'PlatformError';
  }
}

const NODE_ARCH: Record<string, string> = {
  x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64',
};

/** Spellings other tools use for OCI architectures (`uname -m`, Debian). */
const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', x86: '386', i386: '386', aarch64: 'arm64', armhf: 'arm', armel: 'arm' };

/** The host's platform in OCI terms (linux/amd64, linux/arm64/v8, ...). */
export function hostPlatform(): Platform {
  const arch = NODE_ARCH[process.arch] ?? process.arch;
  const variant = arch === 'arm64' ? 'v8' : arch === 'arm' ? `v${String((process.config.variables as { arm_version?: string | number }).arm_version ?? '7')}` : undefined;
  return { os: 'linux', architecture: arch, ...(variant && { variant }) };
}

/**
 * Parses `os/arch[/variant]` (`linux/arm64`, `linux/arm/v7`); a lone `arch`
 * means linux, as Docker's `--platform amd64` does.
 */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().toLowerCase().split('/');
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new PlatformError(`invalid platform ${JSON.stringify(s)}: expected os/arch[/variant], e.g. linux/amd64`);
  }
  if (parts.length === 1) {
    // `linux` alone names an OS, not an architecture: refuse it rather than guess.
    if (parts[0] === 'linux' || parts[0] === 'windows' || parts[0] === 'darwin') {
      throw new PlatformError(`invalid platform ${JSON.stringify(s)}: expected os/arch[/variant], e.g. linux/amd64`);
    }
    return { os: 'linux', architecture: ARCH_ALIASES[parts[0]!] ?? parts[0]! };
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return { os, architecture: ARCH_ALIASES[architecture] ?? architecture, ...(variant && { variant }) };
}

/** `os/arch[/variant]` of a platform. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Normalises the default variants (arm64 -> v8, arm -> v7) so `linux/arm64` and `linux/arm64/v8` match. */
function variantOf(p: Platform): string | undefined {
  if (p.architecture === 'arm64') return p.variant ?? 'v8';
  if (p.architecture === 'arm') return p.variant ?? 'v7';
  return p.variant;
}

/**
 * The index entry best matching `want` (exact variant first), or undefined.
 * Attestation entries (BuildKit's unknown/unknown manifests) never match.
 */
export function selectManifest(manifests: readonly Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = manifests.filter((m) => {
    if (m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return false;
    return m.platform !== undefined && m.platform.os === want.os && m.platform.architecture === want.architecture;
  });
  const wantVariant = variantOf(want);
  return candidates.find((m) => variantOf(m.platform!) === wantVariant) ?? (want.variant === undefined ? candidates[0] : undefined);
}
