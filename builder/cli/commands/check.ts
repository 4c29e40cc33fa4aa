/**
 * `rbuild check [IMAGE] [-f Dockerfile]`: the rootless-compliance report of an
 * image (a local name, `docker://REF` or a registry reference pulled into a
 * temporary store, `oci-archive:FILE`, `docker-archive:FILE`) and/or of a
 * Dockerfile. Exit code 1 when findings reach `--fail-on`; errors exit 2/3
 * through the CLI's error handler.
 */
import { Command, Option } from 'commander';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Descriptor } from '../../../registry/oci/types.js';
import { resolveImage } from '../../../registry/store/images.js';
import { openStore, type OciLayoutStore } from '../../../registry/store/oci-layout-store.js';
import { parsePlatform } from '../../../registry/oci/platform.js';
import { checkDockerfile, checkImage, configResolver } from '../../check/check-image.js';
import { formatJson, formatTable, reportFails, type FailOn } from '../../check/format.js';
import { formatSarif } from '../../check/sarif.js';
import type { CheckReport } from '../../check/types.js';
import { UsageError } from '../errors.js';
import { defaultRoot } from '../root.js';

interface CheckFlags {
  file?: string;
  target?: string;
  format: 'table' | 'json' | 'sarif';
  failOn: FailOn;
  root?: string;
  base?: string;
  baseLayers?: string;
  output?: string;
  platform?: string;
}

/** Registers `rbuild check`. */
export function register(program: Command): void {
  program
    .command('check')
    .description('Check an image and/or a Dockerfile for rootless compliance (non-root user, permissions, secrets, ...)')
    .argument('[image]', 'local image, docker://REF or registry reference, oci-archive:FILE or docker-archive:FILE')
    .option('-f, --file <Dockerfile>', 'the Dockerfile (alone: Dockerfile rules; with IMAGE: line numbers and source rules)')
    .option('--target <stage>', 'the Dockerfile stage the image was built from (default: the last)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'sarif']).default('table'))
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe').choices(['error', 'warn', 'never']).default('error'))
    .option('--base <image>', "the base image (in the store): its layers are not this image's own")
    .option('--base-layers <n>', 'the number of leading layers that belong to the base image')
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--platform <os/arch[/variant]>', 'platform to check from a multi-platform image')
    .option('--root <dir>', 'store directory (default: $XDG_DATA_HOME/rbuild)')
    .action(async (image: string | undefined, o: CheckFlags) => {
      if (!image && !o.file) throw new UsageError('give an IMAGE to check, or -f Dockerfile', 'rbuild check myapp:1, rbuild check -f Dockerfile');
      let baseLayers: number | undefined;
      if (o.baseLayers !== undefined) {
        baseLayers = Number(o.baseLayers);
        if (!Number.isInteger(baseLayers) || baseLayers < 0) throw new UsageError('--base-layers takes a whole number');
      }
      const started = process.hrtime.bigint();
      const report = image ? await checkImageRef(image, o, baseLayers) : await checkDockerfile(resolve(o.file!), { ...(o.target ? { target: o.target } : {}) });
      if (o.file && image) report.dockerfile = o.file;
      const text = o.format === 'json' ? formatJson(report) : o.format === 'sarif' ? formatSarif(withRelativeFile(report, o.file)) : formatTable(report);
      if (o.output) await writeFile(o.output, text);
      else process.stdout.write(text);
      if (o.format === 'table' && report.layers.length > 0) {
        const secs = Number(process.hrtime.bigint() - started) / 1e9;
        process.stderr.write(`checked in ${secs.toFixed(2)} s\n`);
      }
      if (reportFails(report, o.failOn)) process.exitCode = 1;
    });
}

/** SARIF viewers match `uri` against the repository: keep the path as the user gave it. */
function withRelativeFile(report: CheckReport, file: string | undefined): CheckReport {
  if (!file) return report;
  const abs = resolve(file);
  return { ...report, dockerfile: file, findings: report.findings.map((f) => (f.location.file === abs ? { ...f, location: { ...f.location, file } } : f)) };
}

async function checkImageRef(image: string, o: CheckFlags, baseLayers: number | undefined): Promise<CheckReport> {
  const root = o.root ? resolve(o.root) : defaultRoot();
  const platform = o.platform ? parsePlatform(o.platform) : undefined;
  const temp: string[] = [];
  try {
    const store = await openStore(root);
    let source: OciLayoutStore = store;
    let descriptor: Descriptor;
    let name = image;
    const archive = /^(oci-archive|docker-archive):(.+)$/.exec(image);
    if (archive) {
      const dir = await mkdtemp(join(tmpdir(), 'rbuild-check-'));
      temp.push(dir);
      source = await openStore(dir);
      const { loadArchive } = await import('../../../registry/archive/load-archive.js');
      const loaded = await loadArchive(source, createReadStream(archive[2]!));
      const first = loaded.images[0];
      if (!first) throw new UsageError(`${archive[2]} holds no image`);
      descriptor = first.descriptor;
    } else {
      const ref = image.startsWith('docker://') ? image.slice('docker://'.length) : undefined;
      let local: Descriptor | undefined;
      if (ref === undefined) {
        try {
          local = (await resolveImage(store, image, platform ? { platform } : {})).descriptor;
        } catch (err) {
          if ((err as { code?: string }).code !== 'IMAGE_UNKNOWN') throw err;
        }
      }
      if (local) descriptor = local;
      else {
        // Not in the store: pull it into a temporary store so the user's store is left as it was.
        const dir = await mkdtemp(join(tmpdir(), 'rbuild-check-'));
        temp.push(dir);
        source = await openStore(dir);
        const { pullImage } = await import('../../../registry/remote/pull.js');
        const pulled = await pullImage(ref ?? image, source, platform ? { platform } : {});
        descriptor = pulled.descriptor;
        name = pulled.name;
      }
    }
    const { loadImage } = await import('../../../registry/store/images.js');
    const img = await loadImage(source, descriptor, platform ? { platform } : {});
    let baseDiffIds: string[] | undefined;
    if (o.base) baseDiffIds = (await resolveImage(store, o.base, platform ? { platform } : {})).config.rootfs.diff_ids;
    return await checkImage(source, { manifest: img.manifest, config: img.config, digest: img.manifestDescriptor.digest }, {
      name,
      ...(o.file ? { dockerfile: resolve(o.file) } : {}),
      ...(o.target ? { target: o.target } : {}),
      ...(baseLayers !== undefined ? { baseLayers } : {}),
      ...(baseDiffIds ? { baseDiffIds } : {}),
      resolveConfig: configResolver(store),
    });
  } finally {
    for (const d of temp) await rm(d, { recursive: true, force: true });
  }
}

