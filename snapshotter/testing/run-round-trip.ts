/**
 * Driver script for tests run as an unprivileged user in a user namespace:
 * `node dist/snapshotter/testing/run-round-trip.js <workdir> <driverA> <driverB>`
 * prints the RoundTripResult as JSON on stdout.
 */
import type { DriverName } from '../snapshotter.js';
import { roundTrip } from './round-trip.js';

const [work, a, b] = process.argv.slice(2);
roundTrip(work!, a as DriverName, b as DriverName).then(
  (r) => process.stdout.write(JSON.stringify(r)),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
