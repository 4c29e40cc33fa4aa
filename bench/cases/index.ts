/** Every bench case, in the order they run. */
import { apt } from './apt.js';
import { bigfile } from './bigfile.js';
import type { BenchCase } from './case.js';
import { largebase } from './largebase.js';
import { manyfiles } from './manyfiles.js';
import { multistage } from './multistage.js';
import { tiny } from './tiny.js';

/** All cases. */
export const CASES: BenchCase[] = [tiny, multistage, manyfiles, bigfile, apt, largebase];

/** The cases named (all when `names` is empty); throws on an unknown name. */
export function selectCases(names: string[]): BenchCase[] {
  if (names.length === 0) return CASES;
  return names.map((n) => {
    const c = CASES.find((x) => x.name === n);
    if (!c) throw new Error(`unknown case ${n} (known: ${CASES.map((x) => x.name).join(', ')})`);
    return c;
  });
}

export type { BenchCase };
