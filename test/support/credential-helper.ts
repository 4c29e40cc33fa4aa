/**
 * A real Docker credential helper for tests: a `docker-credential-<name>` executable (Node) speaking
 * the helper protocol (get / store / erase on stdin) and keeping its secrets in a JSON file.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A helper's stored credentials by server URL. */
export type HelperSecrets = Record<string, { Username: string; Secret: string }>;

/**
 * Writes `docker-credential-<name>` into `binDir` (mode 0755, readable by any user), its secrets in
 * `<binDir>/secrets.json` (written with `initial` when given, else made on the first store).
 */
export function writeCredentialHelper(binDir: string, name: string, initial?: HelperSecrets): { bin: string; secrets: string } {
  const secrets = join(binDir, 'secrets.json');
  if (initial) writeFileSync(secrets, JSON.stringify(initial));
  const bin = join(binDir, `docker-credential-${name}`);
  writeFileSync(bin, `#!/usr/bin/env node
const fs = require('fs');
const file = ${JSON.stringify(secrets)};
const db = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
const input = fs.readFileSync(0, 'utf8').trim();
const verb = process.argv[2];
if (verb === 'get') {
  if (!db[input]) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  process.stdout.write(JSON.stringify({ ServerURL: input, ...db[input] }));
} else if (verb === 'store') {
  const c = JSON.parse(input); db[c.ServerURL] = { Username: c.Username, Secret: c.Secret };
  fs.writeFileSync(file, JSON.stringify(db));
} else if (verb === 'erase') {
  delete db[input]; fs.writeFileSync(file, JSON.stringify(db));
} else process.exit(2);
`);
  chmodSync(bin, 0o755);
  return { bin, secrets };
}
