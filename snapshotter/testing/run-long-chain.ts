/**
 * Driver script for user-namespace tests: `node dist/snapshotter/testing/run-long-chain.js <work> <n> <driver>...`
 * prints the LongChainResult as JSON on stdout.
 */
import type { DriverName } from '../snapshotter.js';
import { longChain } from './long-chain.js';

const [work, n, ...drivers] = process.argv.slice(2);
longChain(work!, Number(n), drivers as DriverName[]).then(
  (r) => process.stdout.write(JSON.stringify(r)),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
