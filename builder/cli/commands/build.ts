/**
 * `rbuild build [flags] CONTEXT` (also the default command: `rbuild -t TAG .`),
 * with docker build's flag names. The first pass runs outside any namespace:
 * parsing, pulls and cache lookups need none, so a fully cached rebuild is a
 * few file reads, and COPY/ADD/WORKDIR steps writing root-owned files are
 * done right here without a mount. Only when a step needs more (RUN, other
 * owners, a mount) does rbuild re-execute itself in the build namespace
 * (rootless user namespace, private mounts) and build there.
 * Where no namespace can be made (root in a locked-down CI container), it builds
 * on in this process with chroot isolation instead (--isolation, isolation.ts).
 */
import { Command, Option } from 'commander';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BuildError, NeedsNamespaceError } from '../../build/errors.js';
import type { BuildEvent } from '../../build/events.js';
import { createProgress, type ProgressMode } from '../progress.js';
import { UsageError } from '../errors.js';
import { runBuild, type BuildRequest } from '../build-runner.js';
import { resolveStdinInputs } from '../stdin-input.js';
import { parseSecretFlags, parseSshFlags } from '../secret-flags.js';
import { parseOutput } from '../../build/output.js';
import { defaultRoot } from '../root.js';
import { parseCompressionChoice } from '../export-compression.js';
import { parseCacheSpec } from '../../build/remote-cache.js';
import { detectIsolation, type IsolationRequest } from '../../sandbox/isolation.js';
import { currentNamespace } from '../../sandbox/userns.js';

/** How the first pass tells the re-executed one which steps it ran (step-done events, JSON). */
const FIRST_PASS_ENV = 'RBUILD_FIRST_PASS_STEPS';

/** The step-done events of the first pass, by step id (empty in the first pass itself). */
function firstPassSteps(): Map<string, Extract<BuildEvent, { type: 'step-done' }>> {
  const raw = process.env[FIRST_PASS_ENV];
  const out = new Map<string, Extract<BuildEvent, { type: 'step-done' }>>();
  if (!raw) return out;
  try {
    for (const e of JSON.parse(raw) as Array<Extract<BuildEvent, { type: 'step-done' }>>) if (e.type === 'step-done') out.set(e.step, e);
  } catch {
    // not ours: ignore
  }
  return out;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** Values `--pull` takes (true/false as docker's boolean writes them). */
const PULL_POLICIES = ['always', 'missing', 'never', 'true', 'false'];

/**
 * Docker-style optional flag values, made explicit (commander's optional values would swallow the context):
 * `--check=warn` becomes `--check --check-level warn`; a bare `--pull` (docker's boolean) becomes
 * `--pull always` unless a policy follows it.
 */
export function normalizeBuildArgv(argv: string[]): string[] {
  return argv.flatMap((a, i) => {
    const m = /^--check=(.*)$/.exec(a);
    if (m) return ['--check', '--check-level', m[1]!];
    if (a === '--pull' && !PULL_POLICIES.includes(argv[i + 1] ?? '')) return ['--pull', 'always'];
    return [a];
  });
}

/** Registers `build` as the default command. */
export function register(program: Command, hooks: { enterNamespace(): Promise<void>; inNamespace(): boolean }): void {
  program
    .command('build', { isDefault: true })
    .description('build an image from a Dockerfile (the default command: rbuild -t TAG .)')
    .argument('[context]', 'build context directory, or - for a tar on stdin', '.')
    .option('-t, --tag <name>', 'name and optionally tag the image (repeatable)', collect, [])
    .option('-f, --file <path>', 'Dockerfile path (default: CONTEXT/Dockerfile; - for stdin)')
    .option('--build-arg <key[=value]>', 'set a build-time variable; without =value it comes from the environment', collect, [])
    .option('--build-arg-file <file>', 'read build args from a file of KEY=VALUE lines')
    .option('--target <stage>', 'build this stage and what it needs')
    .option('--no-cache', 'do not use the build cache')
    .option('--no-cache-filter <stage>', 'do not use the cache for this stage (repeatable)', collect, [])
    .addOption(new Option('--pull [policy]', 'pull the base images: always (alone: --pull), missing (default), never').choices(PULL_POLICIES))
    .option('--label <key=value>', 'set an image label (repeatable)', collect, [])
    .option('--annotation <key=value>', 'set a manifest annotation (repeatable)', collect, [])
    .option('--platform <os/arch>', 'target platform (only the host platform for now)')
    .addOption(new Option('--network <mode>', 'network for RUN steps').choices(['default', 'host', 'none', 'private']).default('default'))
    .option('--secret <id=..,src=..|env=..>', 'a secret for RUN --mount=type=secret (repeatable)', collect, [])
    .option('--ssh <default|id=socket>', 'an SSH agent socket for RUN --mount=type=ssh (repeatable)', collect, [])
    .option('-o, --output <type=..,dest=..>', 'output: type=image (default), oci, docker, local or tar with dest= (repeatable)', collect, [])
    .option('--squash', "squash the final stage's own layers into one")
    .option('--iidfile <file>', 'write the image ID (config digest) to the file')
    .option('--metadata-file <file>', 'write build metadata (digest, tags, size) as JSON')
    .option('--push', 'push every tag after the build')
    .option('--cache-to <type=registry,ref=..>', 'export the build cache to a registry ref (repeatable)', collect, [])
    .option('--cache-from <type=registry,ref=..>', 'use a build cache exported to a registry ref (repeatable)', collect, [])
    .addOption(new Option('--progress <mode>', 'progress output').choices(['auto', 'tty', 'plain', 'json', 'quiet']).default('auto'))
    .option('-q, --quiet', 'print only the image ID')
    .option('--jobs <n>', 'stages to build in parallel (default: number of cores)')
    .option('--source-date-epoch <seconds>', 'clamp timestamps for reproducible images (SOURCE_DATE_EPOCH)')
    .addOption(new Option('--format <format>', 'manifest and config media types').choices(['oci', 'docker']).default('oci'))
    .addOption(new Option('--compression-format <format>', 'compress new layers at commit (default: stored uncompressed) and on push (default gzip)').choices(['gzip', 'zstd']))
    .option('--compression-level <n>', 'compression level of new layers (implies compressing at commit)')
    .option('--root <dir>', 'store directory (default: $XDG_DATA_HOME/rbuild)')
    .option('--insecure-registry <host>', 'reach this registry over plain HTTP (repeatable; loopback ones always are)', collect, [])
    .option('--registries-config <file>', 'mirrors and insecure registries (default: $XDG_CONFIG_HOME/rbuild/registries.json)')
    .option('--authfile <file>', "credentials file (default: $REGISTRY_AUTH_FILE or Docker's config.json)")
    .addOption(
      new Option('--isolation <mode>', 'how RUN steps are isolated: rootless (namespaces), chroot (root in a container that forbids namespaces), auto')
        .choices(['auto', 'rootless', 'chroot'])
        .default('auto'),
    )
    .addOption(new Option('--storage-driver <driver>', 'snapshot driver (default: the fastest that works here)').choices(['overlay', 'fuse-overlayfs', 'copy']))
    .option('--check', 'check the built image for rootless compliance (--check=warn fails on warnings too)')
    .addOption(new Option('--check-level <level>').choices(['error', 'warn']).default('error').hideHelp())
    .option('--debug', 'print stacks with errors')
    .action(async (context: string, o: Record<string, unknown>) => {
      const req = toRequest(context, o);
      const stdin = await resolveStdinInputs(context, o.file as string | undefined, req.root);
      if (stdin.context) req.context = stdin.context;
      if (stdin.context && o.file === undefined) req.dockerfile = join(stdin.context, 'Dockerfile');
      if (stdin.dockerfile) req.dockerfile = stdin.dockerfile;
      const progress = createProgress(req.quiet ? 'quiet' : req.progress);
      // Outside the namespace, step events wait: when the build must re-run
      // inside, the inner process reports everything once.
      const held: BuildEvent[] = [];
      // chroot isolation builds in this process: nothing is re-run, so nothing waits.
      let direct = hooks.inNamespace();
      // Steps the first pass ran (COPY without a mount) are cache hits for the second: report them as run.
      const ranBefore = firstPassSteps();
      const emit = (e: BuildEvent): void => {
        const before = e.type === 'step-cached' ? ranBefore.get(e.step) : undefined;
        if (e.type === 'step-cached' && before) {
          progress.event({ ...e, type: 'step-start' });
          progress.event(before);
          return;
        }
        // The image is stored: this pass will not re-run, so what it held is final (and the push follows live).
        if (e.type === 'export' && !direct) {
          direct = true;
          for (const h of held.splice(0)) progress.event(h);
        }
        if (direct || e.type === 'pull' || e.type === 'blob' || e.type === 'warning') progress.event(e);
        else held.push(e);
      };
      const isolation = o.isolation as IsolationRequest;
      const announce = (reason: string): void => progress.event({ type: 'info', message: `isolation: ${reason}` });
      const ns = currentNamespace();
      if (ns) announce(`rootless (${ns.mode === 'root' ? 'real root: private mount namespace' : `user namespace, ${ns.mode} id mapping`}; namespaces per step)`);
      else if (isolation === 'chroot') {
        announce((await detectIsolation('chroot')).reason);
        req.isolation = 'chroot';
        direct = true;
      }
      // Ctrl-C / SIGTERM abort the build: running steps are killed, snapshots removed, finished steps stay cached.
      const abort = new AbortController();
      const onSignal = (sig: NodeJS.Signals): void => {
        abort.abort(new BuildError('INTERRUPTED', `build interrupted (${sig})`));
      };
      const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
      for (const s of sigs) process.on(s, onSignal);
      let result;
      try {
        try {
          result = await runBuild(req, emit, abort.signal);
        } catch (err) {
          if (!(err instanceof NeedsNamespaceError) || hooks.inNamespace() || abort.signal.aborted) throw err;
          // A step must run: only now is it worth probing what isolation this machine allows.
          const choice = await detectIsolation(isolation);
          const done = held.filter((e): e is Extract<BuildEvent, { type: 'step-done' }> => e.type === 'step-done');
          if (choice.mode === 'rootless') {
            for (const s of sigs) process.off(s, onSignal);
            if (done.length > 0) process.env[FIRST_PASS_ENV] = JSON.stringify(done);
            await hooks.enterNamespace();
            return;
          }
          // chroot: no namespace to enter; build again here (parsing and cache lookups are cheap, pulls are done).
          for (const e of done) ranBefore.set(e.step, e);
          held.length = 0;
          direct = true;
          req.isolation = 'chroot';
          announce(choice.reason);
          result = await runBuild(req, emit, abort.signal);
        }
      } catch (err) {
        for (const s of sigs) process.off(s, onSignal);
        const e = abort.signal.aborted ? abort.signal.reason : err;
        progress.finish({ tags: req.tags, error: String(e) });
        throw e;
      }
      for (const s of sigs) process.off(s, onSignal);
      for (const e of held) progress.event(e);
      progress.finish({ digest: result.descriptor.digest, tags: result.tags, size: result.size });
      if (req.iidfile) writeFileSync(req.iidfile, result.imageId);
      if (req.metadataFile) writeFileSync(req.metadataFile, JSON.stringify(buildMetadata(result), null, 2));
      if (req.quiet) process.stdout.write(`${result.imageId}\n`);
      if (o.check) {
        const level = o.checkLevel as 'error' | 'warn';
        const { checkBuiltImage, formatTable, reportFails } = await import('../../check/index.js');
        const { openStore } = await import('../../../registry/store/oci-layout-store.js');
        const report = await checkBuiltImage(await openStore(req.root), result.descriptor, {
          ...(req.dockerfile !== '-' ? { dockerfile: req.dockerfile } : {}),
          ...(req.target ? { target: req.target } : {}),
          ...(result.tags[0] ? { name: result.tags[0] } : {}),
        });
        process.stderr.write(formatTable(report));
        if (reportFails(report, level)) process.exitCode = 1;
      }
    });
}

function toRequest(context: string, o: Record<string, unknown>): BuildRequest {
  const buildArgs = new Map<string, string>();
  if (typeof o.buildArgFile === 'string') {
    for (const line of readFileSync(o.buildArgFile, 'utf8').split('\n')) {
      const t = line.trim();
      if (t === '' || t.startsWith('#')) continue;
      addBuildArg(buildArgs, t);
    }
  }
  for (const a of o.buildArg as string[]) addBuildArg(buildArgs, a);
  const keyValue = (l: string): [string, string] => {
    const i = l.indexOf('=');
    return i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1)];
  };
  const labels = (o.label as string[]).map(keyValue);
  const annotations = (o.annotation as string[]).map(keyValue);
  const pullOpt = o.pull;
  const pull = pullOpt === true || pullOpt === 'true' || pullOpt === 'always' ? 'always' : pullOpt === 'never' ? 'never' : 'missing';
  const sde = (o.sourceDateEpoch as string | undefined) ?? process.env.SOURCE_DATE_EPOCH;
  if (sde !== undefined && !/^\d+$/.test(sde)) throw new UsageError(`--source-date-epoch must be whole seconds, not ${JSON.stringify(sde)}`);
  const jobs = o.jobs === undefined ? undefined : Number(o.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0)) throw new UsageError('--jobs takes a positive whole number');
  // `-`: a tar on stdin, read later by resolveStdinInputs.
  const ctx = context === '-' ? '-' : resolve(context);
  if (context !== '-') {
    let st;
    try {
      st = statSync(ctx);
    } catch {
      throw new BuildError('CONTEXT_NOT_FOUND', `build context ${JSON.stringify(context)} not found`, 'give the directory that holds your sources (often .)');
    }
    if (!st.isDirectory()) throw new BuildError('CONTEXT_NOT_FOUND', `build context ${JSON.stringify(context)} is not a directory`);
  }
  return {
    context: ctx,
    dockerfile: o.file === undefined ? join(ctx, 'Dockerfile') : o.file === '-' ? '-' : resolve(o.file as string),
    tags: o.tag as string[],
    buildArgs,
    ...(o.target ? { target: o.target as string } : {}),
    noCache: o.cache === false,
    pull,
    labels,
    annotations,
    noCacheFilter: (o.cacheFilter as string[] | undefined) ?? [],
    secrets: parseSecretFlags(o.secret as string[]),
    squash: Boolean(o.squash),
    outputs: (o.output as string[]).map((v) => {
      const spec = parseOutput(v);
      return 'dest' in spec && spec.dest !== '-' ? { ...spec, dest: resolve(spec.dest) + (spec.dest.endsWith('/') ? '/' : '') } : spec;
    }),
    ssh: parseSshFlags(o.ssh as string[]),
    network: o.network as BuildRequest['network'],
    push: Boolean(o.push),
    progress: o.progress as ProgressMode,
    quiet: Boolean(o.quiet),
    ...(jobs ? { jobs } : {}),
    ...(sde !== undefined ? { sourceDateEpoch: Number(sde) } : {}),
    format: o.format as 'oci' | 'docker',
    ...compressionFlags(o),
    root: o.root ? resolve(o.root as string) : defaultRoot(),
    ...(o.iidfile ? { iidfile: o.iidfile as string } : {}),
    ...(o.metadataFile ? { metadataFile: o.metadataFile as string } : {}),
    ...(o.platform ? { platform: o.platform as string } : {}),
    cacheTo: (o.cacheTo as string[]).map((v) => parseCacheSpec(v)),
    cacheFrom: (o.cacheFrom as string[]).map((v) => parseCacheSpec(v).ref),
    ...(o.storageDriver ? { storageDriver: o.storageDriver as string } : {}),
    ...((o.insecureRegistry as string[]).length ? { insecureRegistries: o.insecureRegistry as string[] } : {}),
    ...(o.registriesConfig ? { registriesConfig: resolve(o.registriesConfig as string) } : {}),
    ...(o.authfile ? { authFile: resolve(o.authfile as string) } : {}),
  };
}

/** --compression-format / --compression-level, validated (the level's range depends on the format). */
function compressionFlags(o: Record<string, unknown>): Pick<BuildRequest, 'compressionFormat' | 'compressionLevel'> {
  if (o.compressionFormat === 'zstd' && o.format === 'docker') throw new UsageError('--compression-format zstd needs --format oci: docker image manifests have no zstd layer type');
  if (o.compressionFormat === undefined && o.compressionLevel === undefined) return {};
  const c = parseCompressionChoice(o.compressionFormat, o.compressionLevel);
  return { ...(o.compressionFormat !== undefined ? { compressionFormat: c.format } : {}), ...(c.level !== undefined ? { compressionLevel: c.level } : {}) };
}

/**
 * --metadata-file, as buildx writes it: `containerimage.digest` is the manifest digest a pull by
 * digest finds, i.e. the pushed one after --push (layers compressed for the registry change it);
 * without a push, the local one. The image ID (config digest) is the same on both sides.
 */
export function buildMetadata(r: { descriptor: { digest: string }; imageId: string; tags: string[]; size: number; pushed: Array<{ digest: string }> }): Record<string, unknown> {
  return {
    'containerimage.digest': r.pushed[0]?.digest ?? r.descriptor.digest,
    'containerimage.config.digest': r.imageId,
    ...(r.pushed.length ? { 'rbuild.local.digest': r.descriptor.digest } : {}),
    'image.name': r.tags.join(','),
    size: r.size,
  };
}

function addBuildArg(m: Map<string, string>, a: string): void {
  const i = a.indexOf('=');
  if (i >= 0) m.set(a.slice(0, i), a.slice(i + 1));
  else if (process.env[a] !== undefined) m.set(a, process.env[a]!);
}
