/** Driver script for user-namespace tests: `node dist/snapshotter/testing/run-probe.js <root>` prints probeDrivers() as JSON. */
import { probeDrivers } from '../create.js';

probeDrivers(process.argv[2]!).then(
  (r) => process.stdout.write(JSON.stringify(r)),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
