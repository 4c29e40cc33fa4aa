/**
 * What a step's cache key covers beyond its parent key and kind: for RUN the
 * command and what its bind mounts show, for COPY/ADD the content of the
 * sources (context checksum, --from content, remote digests), else the text.
 */
import { gitRemoteCommit, isGitUrl, isHttpUrl } from './add-sources.js';
import { fromContentKey } from './stage-base.js';
import type { BuildRun } from './build-run.js';
import type { StageState, Step } from './build-types.js';

/** The key parts of `step` on `state` (hashed by cacheKey with the parent key). */
export async function stepKeyParts(run: BuildRun, step: Step, state: StageState): Promise<unknown> {
  const { opts, signal } = run;
  switch (step.kind) {
    case 'RUN': {
      // What bind mounts show the step is part of its input, like COPY's sources.
      const mounted: string[] = [];
      for (const m of step.mounts) {
        if (m.type !== 'bind') continue;
        if (m.from) mounted.push(await fromContentKey(run, m.from));
        else mounted.push(await opts.context.checksum(await opts.context.resolve([m.source ?? '.'])));
      }
      return [step.cmd, step.prependShell, step.mounts, mounted, step.network ?? opts.network, step.files, [...state.args].sort()];
    }
    case 'COPY':
    case 'ADD': {
      let source: string;
      const from = step.kind === 'COPY' ? step.from : undefined;
      if (from) {
        source = await fromContentKey(run, from);
      } else if (step.sources.length === 0) {
        source = 'inline';
      } else if (step.kind === 'ADD' && step.sources.some((src) => isHttpUrl(src) || isGitUrl(src))) {
        // Remote sources count by what they hold now: the download's digest, the commit a git ref points at.
        const parts: string[] = [];
        for (const src of step.sources) {
          // With --checksum the content is known without fetching it (BuildKit): a cache hit downloads nothing.
          if (isHttpUrl(src)) parts.push(step.checksum ?? (await run.downloads.get(src, undefined, signal)).digest);
          else if (isGitUrl(src)) parts.push(await gitRemoteCommit(src, signal));
          else parts.push(await opts.context.checksum(await opts.context.resolve([src])));
        }
        source = JSON.stringify(parts);
      } else {
        source = await opts.context.checksum(await opts.context.resolve(step.sources));
      }
      const addFlags = step.kind === 'ADD' ? [step.checksum, step.keepGitDir, step.unpack] : [];
      return [step.sources, step.dest, step.chown, step.chmod, step.contents, source, step.link, step.exclude, ...addFlags];
    }
    default:
      return step.original;
  }
}
