/**
 * Driver script for user-namespace tests: `node dist/snapshotter/testing/run-extract.js <tar> <dir>`
 * extracts an uncompressed layer into <dir> and prints { warnings, manifest } as JSON.
 */
import * as fs from 'node:fs';
import { extractTar } from '../extract.js';
import { treeManifest } from './tree-manifest.js';

const [tar, dir] = process.argv.slice(2) as [string, string];
extractTar(fs.createReadStream(tar), dir).then(
  (r) => process.stdout.write(JSON.stringify({ warnings: r.warnings, manifest: treeManifest(dir) })),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
