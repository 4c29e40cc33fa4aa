/**
 * Minimal Docker-style name normalisation for the local store
 * (`busybox` -> `docker.io/library/busybox:latest`). A stand-in until
 * registry/reference.ts (the full reference parser) lands; swap callers over then.
 */
import { StoreError } from './store-error.js';

const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const digestPattern = /^sha256:[a-f0-9]{64}$/;

/** The fully qualified form of an image name: registry/repository:tag or @digest. */
export function normalizeName(ref: string): string {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) throw new StoreError('INVALID_NAME', `invalid digest in ${JSON.stringify(ref)}`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) throw new StoreError('INVALID_NAME', `invalid tag in ${JSON.stringify(ref)}`);
  }
  const parts = rest.split('/');
  let domain = 'docker.io';
  if (parts.length > 1 && (parts[0]!.includes('.') || parts[0]!.includes(':') || parts[0] === 'localhost')) {
    domain = parts.shift()!;
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && parts.length === 1) parts.unshift('library');
  for (const p of parts) {
    if (!component.test(p)) throw new StoreError('INVALID_NAME', `invalid image name ${JSON.stringify(ref)}: bad path component ${JSON.stringify(p)}`);
  }
  const name = `${domain}/${parts.join('/')}`;
  if (digest) return tag ? `${name}:${tag}@${digest}` : `${name}@${digest}`;
  return `${name}:${tag ?? 'latest'}`;
}

/** The short form Docker shows (`docker.io/library/busybox:latest` -> `busybox:latest`). */
export function familiarName(name: string): string {
  return name.replace(/^docker\.io\/library\/(?=[^/]+$|[^/]+[:@])/, '').replace(/^docker\.io\//, '');
}
