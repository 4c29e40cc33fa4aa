/** `rbuild pull REF [--platform os/arch]`: pull an image into the local store. */
import type { Command } from 'commander';
import { parseReference } from '../../../registry/reference.js';
import { describeCiCredential } from '../../../registry/auth/ci-env.js';
import { createDefaultClient } from '../../../registry/remote/default-client.js';
import { formatPlatform, parsePlatform } from '../../../registry/oci/platform.js';
import { pullImage, type PullEvent } from '../../../registry/remote/pull.js';
import { openStore } from '../../../registry/store/oci-layout-store.js';
import { defaultRoot } from '../root.js';
import { action, addRegistryFlags, insecureFor, retryLogger, type RegistryFlags } from './registry-flags.js';

const short = (d: string): string => d.slice(7, 19);

/** Registers `pull`. */
export function register(program: Command): void {
  addRegistryFlags(
    program
      .command('pull')
      .description('pull an image from a registry into the local store')
      .argument('<image>', 'image reference (busybox, host:5000/app:tag, name@sha256:...)')
      .option('--platform <os/arch[/variant]>', 'platform to pull from a multi-platform image (default: the host\'s)')
      .option('-q, --quiet', 'print only the image digest')
      .option('--root <dir>', 'store directory (default: $XDG_DATA_HOME/rbuild)'),
  ).action(
    action(async (image: string, o: RegistryFlags & { platform?: string; quiet?: boolean; root?: string }) => {
      const ref = parseReference(image);
      const platform = o.platform ? parsePlatform(o.platform) : undefined;
      const store = await openStore(o.root ?? defaultRoot());
      const say = (line: string): void => void (o.quiet || process.stderr.write(`${line}\n`));
      const { client } = await createDefaultClient({
        insecure: insecureFor(o, ref.registry),
        ...(o.registriesConfig && { registriesConfig: o.registriesConfig }),
        ...(o.authfile && { authFile: o.authfile }),
        client: { onRetry: retryLogger(o) },
        onCiCredential: (c) => say(describeCiCredential(c)),
      });
      const onProgress = (e: PullEvent): void => {
        if (e.type === 'resolved') say(`Resolved ${e.name} to ${e.digest}${e.platform ? ` (${e.platform})` : ''}`);
        else if (e.type === 'blob-exists') say(`${short(e.digest)}: Already exists`);
        else if (e.type === 'blob-done') say(`${short(e.digest)}: Pull complete`);
      };
      try {
        const res = await pullImage(ref, store, { client, ...(platform && { platform }), onProgress });
        // A single-platform image has no index to choose from: say when it is not what was asked for (as podman does).
        if (platform && (res.config.os !== platform.os || res.config.architecture !== platform.architecture)) {
          const got = formatPlatform({ os: res.config.os, architecture: res.config.architecture, ...(res.config.variant && { variant: res.config.variant }) });
          process.stderr.write(`WARNING: image platform (${got}) does not match the requested platform (${formatPlatform(platform)})\n`);
        }
        say(`Digest: ${res.tagged.digest}`);
        if (o.quiet) process.stdout.write(`${res.tagged.digest}\n`);
        else process.stdout.write(`${res.name}\n`);
      } finally {
        await client.close();
      }
    }),
  );
}
