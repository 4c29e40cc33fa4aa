/** Platforms: the host's, parsing `--platform`, and choosing a manifest from an index. Pure logic. */
import type { Descriptor, Platform } from '../oci/types.js';

/** Thrown for a `--platform` that is not os/arch[/variant]. */
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

/** The host's platform in OCI terms (linux/amd64, linux/arm64/v8, ...). */
export function hostPlatform(): Platform {
  const arch = NODE_ARCH[process.arch] ?? process.arch;
  const variant = arch === 'arm64' ? 'v8' : arch === 'arm' ? `v${(process.config.variables as { arm_version?: string }).arm_version ?? '7'}` : undefined;
  return { os: 'linux', architecture: arch, ...(variant && { variant }) };
}

/** Parses `os/arch[/variant]` (`linux/arm64`, `linux/arm/v7`). */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new PlatformError(`invalid platform ${JSON.stringify(s)}: expected os/arch[/variant], e.g. linux/amd64`);
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  const arch = architecture === 'x86_64' ? 'amd64' : architecture === 'aarch64' ? 'arm64' : architecture;
  return { os, architecture: arch, ...(variant && { variant }) };
}

/** `os/arch[/variant]` of a platform. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Normalises arm64's default variant (v8) so `linux/arm64` and `linux/arm64/v8` match. */
function variantOf(p: Platform): string | undefined {
  if (p.architecture === 'arm64') return p.variant ?? 'v8';
  if (p.architecture === 'arm') return p.variant ?? 'v7';
  return p.variant;
}

/** The index entry best matching `want`, or undefined. Attestation entries (unknown/unknown) never match. */
export function selectManifest(manifests: readonly Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = manifests.filter(
    (m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture,
  );
  const wantVariant = variantOf(want);
  return (
    candidates.find((m) => variantOf(m.platform!) === wantVariant) ??
    (want.variant === undefined ? candidates[0] : undefined)
  );
}
