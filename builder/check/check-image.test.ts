import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../registry/store/oci-layout-store.js';
import { makeTestImage } from '../../registry/store/test-image.js';
import { checkBuiltImage } from './check-image.js';

describe('checkBuiltImage (what rbuild build --check calls)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rbuild-check-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the base image of the Dockerfile in the store and points own findings at their lines', async () => {
    const store = await openStore(join(dir, 'store'));
    const base = await makeTestImage(store, { layers: [{ 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'root/.env': 'A=1\n' }] });
    await store.tag('docker.io/library/base:1', base.manifest);
    const app = await makeTestImage(store, { layers: [{ 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'root/.env': 'A=1\n' }, { 'app/.env': 'TOKEN=x\n' }] });
    const df = join(dir, 'Dockerfile');
    writeFileSync(df, 'FROM base:1\nCOPY .env /app/\nCMD ["/bin/sh"]\n');

    const report = await checkBuiltImage(store, app.manifest, { dockerfile: df, name: 'app:1' });
    expect(report.layers.map((l) => l.base)).toEqual([true, false]);
    const secrets = report.findings.filter((f) => f.ruleId === 'RB009').map((f) => [f.location.path, f.location.layer, f.location.line, f.severity]);
    expect(secrets).toEqual([
      ['/root/.env', 0, 1, 'warn'],
      ['/app/.env', 1, 2, 'error'],
    ]);
    expect(report.findings.find((f) => f.ruleId === 'RB001')?.location).toEqual({ file: df, line: 1 });
    expect(report.findings.find((f) => f.ruleId === 'RB011')?.location).toEqual({ file: df, line: 1 });

    // Without the Dockerfile nor rbuild history, every layer counts as the image's own.
    const bare = await checkBuiltImage(store, app.manifest);
    expect(bare.layers.map((l) => l.base)).toEqual([false, false]);
    expect(bare.findings.filter((f) => f.ruleId === 'RB009').every((f) => f.severity === 'error')).toBe(true);
    // --base-layers decides when given.
    expect((await checkBuiltImage(store, app.manifest, { baseLayers: 1 })).layers.map((l) => l.base)).toEqual([true, false]);
  });
});
