/** Platforms: the host's, parsing `os/arch[/variant]`, and choosing an index entry. */
import type { Descriptor, Index, Platform } from '../oci/types.js';
import { StoreError } from './store-error.js';

const archMap: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** The platform of this machine in OCI terms (linux/amd64, linux/arm64/v8, ...). */
export function hostPlatform(): Platform {
  const architecture = archMap[process.arch] ?? process.arch;
  const p: Platform = { os: process.platform === 'win32' ? 'windows' : process.platform, architecture };
  if (architecture === 'arm64') p.variant = 'v8';
  if (architecture === 'arm') p.variant = `v${(process.config.variables as { arm_version?: string }).arm_version ?? '7'}`;
  return p;
}

/** Parses `os/arch[/variant]` as `--platform` takes it. */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant, ...extra] = s.split('/');
  if (!os || !architecture || extra.length > 0) throw new StoreError('INVALID_PLATFORM', `invalid platform ${JSON.stringify(s)}: expected os/arch[/variant]`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** `os/arch[/variant]` of a platform. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

// arm64 images often omit the variant; v8 is the only one, so absent == v8.
function variantOf(p: Platform): string | undefined {
  return p.variant ?? (p.architecture === 'arm64' ? 'v8' : undefined);
}

/** The index entry for `want` (exact variant preferred; attestation manifests skipped), if any. */
export function selectPlatform(index: Index, want: Platform): Descriptor | undefined {
  const candidates = index.manifests.filter((m) => {
    if (m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return false;
    const p = m.platform;
    return p !== undefined && p.os === want.os && p.architecture === want.architecture;
  });
  const wantVariant = variantOf(want);
  return candidates.find((m) => variantOf(m.platform!) === wantVariant) ?? (want.variant === undefined ? candidates[0] : undefined);
}
