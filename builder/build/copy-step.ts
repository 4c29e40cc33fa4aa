/**
 * COPY and ADD on a write target: owner, mode and exclusions from the flags;
 * sources from the context, inline heredocs, another stage or image
 * (--from), URLs, git repositories; local archives unpacked by ADD.
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createIgnoreMatcher } from '../dockerfile/dockerignore.js';
import { detectArchive, extractArchive, gitClone, isGitUrl, isHttpUrl, type ArchiveKind } from './add-sources.js';
import { parseChmod } from './chmod-spec.js';
import { BuildContext } from './context.js';
import { copyInto, ensureDir, parentsDestination, RootTree, type CopyOptions, type FileReuse, type SourceTree } from './copy.js';
import { NeedsNamespaceError } from './errors.js';
import { withView } from './layer-snapshots.js';
import { prepareWorkdir } from './prepare-workdir.js';
import { resolveInRoot } from './resolve-in-root.js';
import { fromLayers } from './stage-base.js';
import { hostOwner, UnmountedFallback, type WriteTarget } from './write-targets.js';
import type { BuildRun } from './build-run.js';
import type { StageState, Step } from './build-types.js';

/** Runs a COPY or ADD step on `t` (the workdir is made first, as BuildKit does); `reuse` is offered the files copied from the context. */
export async function copyStep(run: BuildRun, t: WriteTarget, state: StageState, step: Extract<Step, { kind: 'COPY' | 'ADD' }>, reuse?: FileReuse): Promise<void> {
  const { opts } = run;
  const wd = await prepareWorkdir(run, t, state);
  const chown = step.chown ? await run.deps.resolveUser(await t.userRoot(), step.chown) : undefined;
  if (t.hostRoot && chown && (chown.uid !== 0 || chown.gid !== 0)) throw new NeedsNamespaceError();
  const owner = hostOwner(t, chown ? { uid: chown.uid, gid: chown.gid } : undefined);
  const chmod = step.chmod ? parseChmod(step.chmod) : undefined;
  const excluder = step.exclude.length > 0 ? createIgnoreMatcher(step.exclude) : undefined;
  const base: CopyOptions = {
    root: t.root, dest: step.dest, workdir: wd,
    ...(t.resolve ? { resolve: t.resolve } : {}),
    ...(owner ? { chown: owner } : {}),
    ...(chmod ? { chmod } : {}),
    ...(excluder ? { exclude: (rel: string) => excluder.matches(rel) } : {}),
  };
  const parents = step.kind === 'COPY' && step.parents;
  /** Copies resolved sources; with --parents each keeps its path below the destination. */
  const copyAll = async <S extends { rel: string; abs: string; stat: Stats; pattern: string }>(tree: SourceTree<S>, sources: S[], o: CopyOptions): Promise<void> => {
    if (!parents) {
      await copyInto(tree, sources, o);
      return;
    }
    for (const src of sources) await copyInto(tree, [src], { ...o, dest: parentsDestination(src.pattern, src.rel, src.stat.isDirectory(), o.dest) });
  };
  if (step.contents.length > 0) {
    const tmp = join(opts.root, 'tmp', `inline-${randomBytes(6).toString('hex')}`);
    await mkdir(tmp, { recursive: true });
    try {
      for (const f of step.contents) await writeFile(join(tmp, f.path), f.data, { mode: 0o644 });
      const ctx = new BuildContext(tmp);
      await copyInto(ctx, await ctx.resolve(step.contents.map((f) => f.path)), base);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    return;
  }
  const from = step.kind === 'COPY' ? step.from : undefined;
  if (from) {
    const srcLayers = await fromLayers(run, from);
    await withView(run, srcLayers, async (srcRoot) => {
      const tree = new RootTree(srcRoot);
      await copyAll(tree, await tree.resolve(step.sources), { ...base, keepOwner: !chown });
    });
    return;
  }
  if (step.kind === 'ADD') {
    await addStep(run, t, step, reuse ? { ...base, reuse } : base);
    return;
  }
  const sources = await opts.context.resolve(step.sources);
  await copyAll(opts.context, sources, reuse ? { ...base, reuse } : base);
}

/** ADD from the context or the network: archives unpacked, URLs downloaded, git repositories cloned. */
export async function addStep(run: BuildRun, t: WriteTarget, step: Extract<Step, { kind: 'ADD' }>, base: CopyOptions): Promise<void> {
  const { opts, signal } = run;
  const destAbs = step.dest.startsWith('/') ? step.dest : `${base.workdir}/${step.dest}`;
  const unpackInto = async (path: string, kind: ArchiveKind): Promise<void> => {
    // An archive's entries would meet the layers below unseen: unpack on a mounted root.
    if (t.resolve) throw new UnmountedFallback();
    await ensureDir(t.root, destAbs, base.chown);
    await extractArchive(path, kind, resolveInRoot(t.root, destAbs), base.chown, signal);
  };
  const plain: string[] = [];
  for (const src of step.sources) {
    if (isHttpUrl(src)) {
      const d = await run.downloads.get(src, step.checksum, signal);
      const kind = step.unpack === true ? await detectArchive(d.path) : undefined;
      if (kind) await unpackInto(d.path, kind);
      else {
        const ctx = new BuildContext(d.dir);
        await copyInto(ctx, await ctx.resolve([d.name]), base);
      }
    } else if (isGitUrl(src)) {
      const tmp = join(opts.root, 'tmp', `git-${randomBytes(6).toString('hex')}`);
      await mkdir(tmp, { recursive: true });
      try {
        await gitClone(src, join(tmp, 'repo'), { keepGitDir: step.keepGitDir, signal });
        const ctx = new BuildContext(tmp);
        // A repository is a directory source: its contents go into the destination.
        await copyInto(ctx, await ctx.resolve(['repo']), { ...base, dest: step.dest.endsWith('/') ? step.dest : `${step.dest}/` });
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    } else {
      plain.push(src);
    }
  }
  if (plain.length === 0) return;
  const resolved = await opts.context.resolve(plain);
  const copies = [];
  for (const r of resolved) {
    const kind = step.unpack !== false && r.stat.isFile() ? await detectArchive(r.abs) : undefined;
    if (kind) await unpackInto(r.abs, kind);
    else copies.push(r);
  }
  if (copies.length > 0) await copyInto(opts.context, copies, base);
}
