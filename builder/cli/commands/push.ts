/** `rbuild push IMAGE [DEST]`: push an image from the local store to a registry. */
import { Option, type Command } from 'commander';
import { formatReference, parseReference } from '../../../registry/reference.js';
import { describeCiCredential } from '../../../registry/auth/ci-env.js';
import { createDefaultClient } from '../../../registry/remote/default-client.js';
import { pushImage, type PushEvent } from '../../../registry/remote/push.js';
import { resolveImage } from '../../../registry/store/images.js';
import { parsePlatform } from '../../../registry/oci/platform.js';
import { openStore } from '../../../registry/store/oci-layout-store.js';
import { UsageError } from '../errors.js';
import { defaultRoot } from '../root.js';
import { openCompressedBlobs, parseCompressionChoice, pushCompression } from '../export-compression.js';
import { action, addRegistryFlags, insecureFor, retryLogger, type RegistryFlags } from './registry-flags.js';

const short = (d: string): string => d.slice(7, 19);

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
      .option('-q, --quiet', 'print only the digest')
      .option('--root <dir>', 'store directory (default: $XDG_DATA_HOME/rbuild)'),
  ).action(
    action(async (image: string, destination: string | undefined, o: RegistryFlags & { platform?: string; jobs: string; mountFrom: string[]; digestfile?: string; quiet?: boolean; root?: string; compressionFormat: string; compressionLevel?: string }) => {
      const choice = parseCompressionChoice(o.compressionFormat, o.compressionLevel);
      const store = await openStore(o.root ?? defaultRoot());
      const found = await resolveImage(store, image);
      const target = destination ?? found.name;
      if (!target) throw new UsageError(`${image} has no name to push to`, `give a destination: rbuild push ${image} REGISTRY/REPOSITORY:TAG`);
      const dest = parseReference(target);
      const say = (line: string): void => void (o.quiet || process.stderr.write(`${line}\n`));
      const { client } = await createDefaultClient({
        insecure: insecureFor(o, dest.registry),
        ...(o.registriesConfig && { registriesConfig: o.registriesConfig }),
        ...(o.authfile && { authFile: o.authfile }),
        client: { onRetry: retryLogger(o) },
        onCiCredential: (c) => say(describeCiCredential(c)),
      });
      const onProgress = (e: PushEvent): void => {
        if (e.type === 'blob-exists') say(`${short(e.digest)}: Layer already exists`);
        else if (e.type === 'blob-mounted') say(`${short(e.digest)}: Mounted from ${e.from}`);
        else if (e.type === 'blob-done') say(`${short(e.digest)}: Pushed`);
        else if (e.type === 'partial-index') say(`Only ${e.platform} of this multi-platform image is stored here (missing: ${e.missing.join(', ')}); pushing that platform's manifest`);
      };
      try {
        // The index.json entry: a multi-platform image pushes as its whole index.
        const res = await pushImage(store, found.descriptor, dest, {
          client, onProgress, jobs: Math.max(1, Number(o.jobs) || 4), mountFrom: o.mountFrom,
          // Builds store layers uncompressed: they are compressed here (once; remembered for the next push).
          ...pushCompression(await openCompressedBlobs(store), choice),
          ...(o.platform && { platform: parsePlatform(o.platform) }),
        });
        say(`${dest.tag ?? 'latest'}: digest: ${res.digest} size: ${res.size}`);
        if (o.digestfile) {
          const { writeFileSync } = await import('node:fs');
          writeFileSync(o.digestfile, res.digest);
        }
        process.stdout.write(o.quiet ? `${res.digest}\n` : `${formatReference({ ...dest, digest: res.digest })}\n`);
      } finally {
        await client.close();
      }
    }),
  );
}
