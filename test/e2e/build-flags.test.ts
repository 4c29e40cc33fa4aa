/** Build flags end to end: --label, --annotation, --iidfile, --metadata-file, --no-cache-filter, -f -, a context on stdin. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../support/unprivileged.js';
import { buildContext, busybox, events, rbuild, readBlob as blob, startedKinds } from './build-fixtures.js';

// Temp directories of this file go when it is done: a run leaves /tmp as it found it.
afterAll(removeTempDirs);

describe('build flags', () => {
  let work: string, store: string, ctx: string;
  beforeAll(() => {
    ({ work, store, ctx } = buildContext('rbuild-flags-', {
      Dockerfile: `FROM ${busybox()} AS one\nRUN cat /proc/sys/kernel/random/uuid > /stamp\nFROM ${busybox()}\nCOPY --from=one /stamp /stamp\nCOPY a.txt /a.txt\n`,
      'a.txt': 'a\n',
    }));
  });

  it('--label, --annotation, --iidfile and --metadata-file', async () => {
    const iid = join(work, 'iid');
    const meta = join(work, 'meta.json');
    const r = await rbuild(['build', '--root', store, '-t', 'flags:1', '--label', 'team=core', '--annotation', 'org.example.note=hi there', '--iidfile', iid, '--metadata-file', meta, ctx]);
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(meta, 'utf8'));
    const manifest = blob(store, m['containerimage.digest']);
    expect(manifest.annotations).toEqual({ 'org.example.note': 'hi there' });
    expect(readFileSync(iid, 'utf8')).toBe(manifest.config.digest);
    expect(m['containerimage.config.digest']).toBe(manifest.config.digest);
    expect(m['image.name']).toContain('flags:1');
    expect(m.size).toBeGreaterThan(0);
    expect(blob(store, manifest.config.digest).config.Labels).toEqual({ team: 'core' });
  });

  it('--no-cache-filter reruns only the named stage, and what depends on a changed result', async () => {
    const r1 = await rbuild(['build', '--root', store, '--progress=json', ctx]);
    expect(r1.code).toBe(0);
    expect(startedKinds(r1.stderr)).toEqual([]);
    const r = await rbuild(['build', '--root', store, '--progress=json', '--no-cache-filter', 'one', ctx]);
    expect(r.code).toBe(0);
    const started = events(r.stderr).filter((e) => e.type === 'step-start').map((e) => e.step);
    // The stage reruns; its new /stamp differs, so the COPY --from that reads it reruns too; COPY a.txt follows it.
    expect(started).toEqual(['one/1', '1/1', '1/2']);
  });

  it('-f - reads the Dockerfile from stdin', async () => {
    const r = await rbuild(['build', '--root', store, '--iidfile', join(work, 'iid2'), '-f', '-', ctx], { input: `FROM ${busybox()}\nCOPY a.txt /from-stdin.txt\n` });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/COPY a.txt \/from-stdin.txt/);
  });

  it('- as the context reads a tar from stdin', async () => {
    const tarball = execFileSync('tar', ['-C', ctx, '-c', '.']);
    const r = await rbuild(['build', '--root', store, '--progress=json', '-t', 'flags:stdin', '-'], { input: tarball });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/"type":"export"/);
    // Nothing left of the extracted context.
    expect(execFileSync('find', [join(store, 'tmp'), '-name', 'stdin-*'], { encoding: 'utf8' })).toBe('');
  });
});
