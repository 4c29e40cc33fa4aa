/** `rbuild pull REF [--platform os/arch]`: pull an image into the local store. */
import { Option, type Command } from 'commander';
import { formatReference, parseReference } from '../../../registry/reference.js';
import { describeCiCredential } from '../../../registry/auth/ci-env.js';
import { createDefaultClient } from '../../../registry/remote/default-client.js';
import { formatPlatform, parsePlatform } from '../../../registry/oci/platform.js';
import { pullImage } from '../../../registry/remote/pull.js';
import { openStore } from '../../../registry/store/oci-layout-store.js';
import { defaultRoot } from '../root.js';
import { createProgress, PROGRESS_MODES, type ProgressMode } from '../progress.js';
import { blobEvents } from '../progress-blobs.js';
import { action, addRegistryFlags, insecureFor, retryLogger, type RegistryFlags } from './registry-flags.js';

/** Registers `pull`. */
export function register(program: Command): void {
  addRegistryFlags(
    program
      .command('pull')
      .description('pull an image from a registry into the local store')
      .argument('<image>', 'image reference (busybox, host:5000/app:tag, name@sha256:...)')
      .option('--platform <os/arch[/variant]>', 'platform to pull from a multi-platform image (default: the host\'s)')
      .addOption(new Option('--progress <mode>', 'progress output on stderr (auto: tty on a terminal, else plain)').choices(PROGRESS_MODES).default('auto'))
      .option('-q, --quiet', 'print only the image digest')
      .option('--root <dir>', 'store directory (default: $XDG_DATA_HOME/rbuild)'),
  ).action(
    action(async (image: string, o: RegistryFlags & { platform?: string; quiet?: boolean; root?: string; progress: ProgressMode }) => {
      const ref = parseReference(image);
      const name = formatReference(ref);
      const platform = o.platform ? parsePlatform(o.platform) : undefined;
      const store = await openStore(o.root ?? defaultRoot());
      const progress = createProgress(o.quiet ? 'quiet' : o.progress);
      const say = (message: string): void => progress.event({ type: 'info', message });
      const { client } = await createDefaultClient({
        insecure: insecureFor(o, ref.registry),
        ...(o.registriesConfig && { registriesConfig: o.registriesConfig }),
        ...(o.authfile && { authFile: o.authfile }),
        client: { onRetry: retryLogger(o) },
        onCiCredential: (c) => say(describeCiCredential(c)),
      });
      const blobs = blobEvents('pull', name, (e) => progress.event(e));
      progress.event({ type: 'pull', ref: name, phase: 'start' });
      try {
        const res = await pullImage(ref, store, {
          client, ...(platform && { platform }),
          onProgress: (e) => (e.type === 'resolved' ? say(`resolved ${e.name} to ${e.digest}${e.platform ? ` (${e.platform})` : ''}`) : blobs(e)),
        });
        const layers = res.manifest.layers;
        progress.event({ type: 'pull', ref: name, phase: 'done', layers: layers.length, bytes: layers.reduce((a, l) => a + l.size, 0) });
        // A single-platform image has no index to choose from: say when it is not what was asked for (as podman does).
        if (platform && (res.config.os !== platform.os || res.config.architecture !== platform.architecture)) {
          const got = formatPlatform({ os: res.config.os, architecture: res.config.architecture, ...(res.config.variant && { variant: res.config.variant }) });
          const message = `image platform (${got}) does not match the requested platform (${formatPlatform(platform)})`;
          if (o.quiet) process.stderr.write(`WARNING: ${message}\n`);
          else progress.event({ type: 'warning', message });
        }
        progress.finish({ digest: res.tagged.digest, tags: [res.name] });
        if (o.quiet) process.stdout.write(`${res.tagged.digest}\n`);
        else process.stdout.write(`${res.name}\n`);
      } catch (err) {
        progress.finish({ tags: [name], error: String(err) });
        throw err;
      } finally {
        await client.close();
      }
    }),
  );
}
