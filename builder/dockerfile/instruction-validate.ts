/** Value checks shared by instruction typing and expansion. */

const chmodOctal = /^[0-7]{1,4}$/;
const chmodSymbolic = /^[ugoa]*([-+=]([rwxXst]*|[ugo]))+(,[ugoa]*([-+=]([rwxXst]*|[ugo]))+)*$/;

/** True when `mode` is a valid --chmod value (octal or symbolic). */
export function isValidChmod(mode: string): boolean {
  return chmodOctal.test(mode) || chmodSymbolic.test(mode);
}
