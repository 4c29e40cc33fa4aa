/** COPY/ADD --chmod: octal or symbolic modes, as chmod(1) reads them. */
import { BuildError } from './errors.js';

/** Parses `--chmod` (octal, or symbolic like `u=rwx,go=rx`/`+x`) into a mode function. */
export function parseChmod(spec: string): (mode: number, isDir: boolean) => number {
  if (/^[0-7]{3,4}$/.test(spec)) {
    const m = parseInt(spec, 8);
    return () => m;
  }
  const clauses = spec.split(',');
  return (mode, isDir) => {
    let m = mode;
    for (const cl of clauses) {
      const match = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(cl);
      if (!match) throw new BuildError('BAD_CHMOD', `invalid --chmod ${JSON.stringify(spec)}`);
      const who = match[1] === '' || match[1]!.includes('a') ? 'ugo' : match[1]!;
      let bits = 0;
      for (const p of match[3]!) {
        for (const w of who) {
          const shift = w === 'u' ? 6 : w === 'g' ? 3 : 0;
          if (p === 'r') bits |= 4 << shift;
          if (p === 'w') bits |= 2 << shift;
          if (p === 'x' || (p === 'X' && (isDir || (mode & 0o111) !== 0))) bits |= 1 << shift;
          if (p === 's' && w === 'u') bits |= 0o4000;
          if (p === 's' && w === 'g') bits |= 0o2000;
          if (p === 't') bits |= 0o1000;
        }
      }
      let mask = 0;
      for (const w of who) mask |= w === 'u' ? 0o4700 : w === 'g' ? 0o2070 : 0o1007;
      if (match[2] === '+') m |= bits;
      else if (match[2] === '-') m &= ~bits;
      else m = (m & ~mask) | bits;
    }
    return m;
  };
}
