/** `rbuild push IMAGE [DEST]`: push an image from the local store to a registry. */
import { Option, type Command } from 'commander';
import { formatReference, parseReference } from '../../../registry/reference.js';
import { describeCiCredential } from '../../../registry/auth/ci-env.js';
import { createDefaultClient } from '../../../registry/remote/default-client.js';
import { pushImage } from '../../../registry/remote/push.js';
import { resolveImage } from '../../../registry/store/images.js';
import { parsePlatform } from '../../../registry/oci/platform.js';
import { openStore } from '../../../registry/store/oci-layout-store.js';
import { UsageError } from '../errors.js';
import { defaultRoot } from '../root.js';
import { createProgress, PROGRESS_MODES, type ProgressMode } from '../progress.js';
import { blobEvents } from '../progress-blobs.js';
import { reportCompression } from '../progress-compress.js';
import { openCompressedBlobs, parseCompressionChoice, pushCompression } from '../export-compression.js';
import { action, addRegistryFlags, insecureFor, retryLogger, type RegistryFlags } from './registry-flags.js';

/** Registers `push`. */
export function register(program: Command): void {
  addRegistryFlags(
    program
      .command('push')
      .description('push an image from the local store to a registry')
      .argument('<image>', 'local image name or ID')
      .argument('[destination]', 'where to push (default: the image name)')
      .option('--jobs <n>', 'parallel blob uploads', '4')
      .option('--mount-from <repository>', 'try mounting blobs from this repository of the same registry (repeatable)', (v: string, p: string[]) => [...p, v], [])
      .option('--platform <os/arch[/variant]>', 'push only this platform\'s manifest of a multi-platform image')
      .option('--digestfile <file>', 'write the pushed manifest digest to the file')
      .addOption(new Option('--compression-format <format>', 'compression of layers stored uncompressed (as builds store them)').choices(['gzip', 'zstd']).default('gzip'))
      .option('--compression-level <n>', 'compression level (default: gzip 6, zstd 3)')
      .addOption(new Option('--progress <mode>', 'progress output on stderr (auto: tty on a terminal, else plain)').choices(PROGRESS_MODES).default('auto'))
      .option('-q, --quiet', 'print only the digest')
      .option('--root <dir>', 'store directory (default: $XDG_DATA_HOME/rbuild)'),
  ).action(
    action(async (image: string, destination: string | undefined, o: RegistryFlags & { platform?: string; jobs: string; mountFrom: string[]; digestfile?: string; quiet?: boolean; root?: string; compressionFormat: string; compressionLevel?: string; progress: ProgressMode }) => {
      const choice = parseCompressionChoice(o.compressionFormat, o.compressionLevel);
      const store = await openStore(o.root ?? defaultRoot());
      const found = await resolveImage(store, image);
      const target = destination ?? found.name;
      if (!target) throw new UsageError(`${image} has no name to push to`, `give a destination: rbuild push ${image} REGISTRY/REPOSITORY:TAG`);
      const dest = parseReference(target);
      const name = formatReference(dest);
      const progress = createProgress(o.quiet ? 'quiet' : o.progress);
      const say = (message: string): void => progress.event({ type: 'info', message });
      const { client } = await createDefaultClient({
        insecure: insecureFor(o, dest.registry),
        ...(o.registriesConfig && { registriesConfig: o.registriesConfig }),
        ...(o.authfile && { authFile: o.authfile }),
        client: { onRetry: retryLogger(o) },
        onCiCredential: (c) => say(describeCiCredential(c)),
      });
      const blobs = blobEvents('push', name, (e) => progress.event(e));
      progress.event({ type: 'push', ref: name, phase: 'start' });
      try {
        // The index.json entry: a multi-platform image pushes as its whole index.
        const res = await pushImage(store, found.descriptor, dest, {
          client, jobs: Math.max(1, Number(o.jobs) || 4), mountFrom: o.mountFrom,
          onProgress: (e) => {
            if (e.type === 'partial-index') say(`Only ${e.platform} of this multi-platform image is stored here (missing: ${e.missing.join(', ')}); pushing that platform's manifest`);
            else blobs(e);
          },
          // Builds store layers uncompressed: they are compressed here (once; remembered for the next push).
          ...reportCompression(pushCompression(await openCompressedBlobs(store), choice), name, (e) => progress.event(e)),
          ...(o.platform && { platform: parsePlatform(o.platform) }),
        });
        progress.event({ type: 'push', ref: name, phase: 'done', digest: res.digest });
        progress.finish({ digest: res.digest, tags: [name] });
        if (o.digestfile) {
          const { writeFileSync } = await import('node:fs');
          writeFileSync(o.digestfile, res.digest);
        }
        process.stdout.write(o.quiet ? `${res.digest}\n` : `${formatReference({ ...dest, digest: res.digest })}\n`);
      } catch (err) {
        progress.finish({ tags: [name], error: String(err) });
        throw err;
      } finally {
        await client.close();
      }
    }),
  );
}
