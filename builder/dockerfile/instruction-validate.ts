/** Value checks shared by instruction typing and expansion. */

const chmodOctal = /^[0-7]{1,4}$/;
const chmodSymbolic = /^[ugoa]*([-+=]([rwxXst]*|[ugo]))+(,[ugoa]*([-+=]([rwxXst]*|[ugo]))+)*$/;

/** True when `mode` is a valid --chmod value (octal or symbolic). */
export function isValidChmod(mode: string): boolean {
  return chmodOctal.test(mode) || chmodSymbolic.test(mode);
}

const portRe = /^(\d+)(-(\d+))?(\/(tcp|udp|sctp))?$/i;

/** True when `p` is an EXPOSE port spec: `80`, `80/udp`, `8000-8010/tcp`. */
export function isValidPort(p: string): boolean {
  const m = portRe.exec(p);
  if (!m) return false;
  const a = Number(m[1]);
  const b = m[3] ? Number(m[3]) : a;
  return a <= 65535 && b <= 65535 && a <= b;
}
