/**
 * One step on a cache miss: config instructions edit the image config (and
 * its history), WORKDIR, RUN, COPY and ADD write a snapshot whose changes
 * become a layer.
 */
import type { HealthConfig, ImageConfig } from '../../registry/oci/types.js';
import * as cfg from '../image/config.js';
import type { LayerRef } from './cache.js';
import { openCopyReuse, type LayerDirs } from './copy-reuse.js';
import { copyStep } from './copy-step.js';
import { chainIds } from '../../snapshotter/chain-id.js';
import { BuildError } from './errors.js';
import { withEmptySnapshot, withSnapshot, withView } from './layer-snapshots.js';
import { prepareWorkdir } from './prepare-workdir.js';
import { planRunHeredoc } from './run-heredoc.js';
import { runInSandbox } from './run-step.js';
import { FALLBACK, mountedTarget, withLinkUnmounted, withWritable } from './write-targets.js';
import { createdTime, type BuildRun } from './build-run.js';
import type { StageState, Step } from './build-types.js';

/** Executes `step` on `state` (id `stage/index` for events); returns the next state (its key is the caller's). */
export async function executeStep(run: BuildRun, step: Step, state: StageState, id: string): Promise<StageState> {
  const { opts } = run;
  const history = (createdBy: string, layer?: LayerRef): ImageConfig =>
    cfg.withHistory(state.config, { created: createdTime(opts), created_by: createdBy, comment: 'rbuild' }, layer?.diffId);
  const withLayer = (layer: LayerRef | undefined, createdBy: string): StageState => ({
    ...state,
    config: history(createdBy, layer),
    layers: layer ? [...state.layers, layer] : state.layers,
  });
  const c = state.config;
  const edit = (config: ImageConfig): StageState => ({ ...state, config: cfg.withHistory(config, { created: createdTime(opts), created_by: step.original, comment: 'rbuild' }) });
  switch (step.kind) {
    case 'ENV':
      return edit(cfg.withEnv(c, step.env.map((kv) => [kv.key, kv.value])));
    case 'LABEL':
      return edit(cfg.withLabels(c, step.labels.map((kv) => [kv.key, kv.value])));
    case 'EXPOSE':
      return edit(cfg.withExposedPorts(c, step.ports));
    case 'VOLUME':
      return edit(cfg.withVolumes(c, step.volumes));
    case 'USER':
      return edit(cfg.withUser(c, step.user));
    case 'WORKDIR': {
      // As BuildKit: the directory is created (owned by USER) when missing, in a layer of its own,
      // so an image whose WORKDIR nothing writes into still has it.
      const next: StageState = { ...state, config: cfg.withWorkdir(c, step.path) };
      const layer = await withWritable(run, next, async (t) => {
        await prepareWorkdir(run, t, next);
      });
      return {
        ...next,
        config: cfg.withHistory(next.config, { created: createdTime(opts), created_by: step.original, comment: 'rbuild' }, layer?.diffId),
        layers: layer ? [...state.layers, layer] : state.layers,
      };
    }
    case 'ENTRYPOINT':
      return edit(cfg.withEntrypoint(c, shellWrap(c, step.cmd, step.prependShell)));
    case 'CMD':
      return edit(cfg.withCmd(c, shellWrap(c, step.cmd, step.prependShell)));
    case 'SHELL':
      return edit(cfg.withShell(c, step.shell));
    case 'STOPSIGNAL':
      return edit(cfg.withStopSignal(c, step.signal));
    case 'HEALTHCHECK':
      return edit(cfg.withHealthcheck(c, healthConfig(step)));
    case 'ONBUILD':
      return edit(cfg.withOnBuild(c, step.expression));
    case 'MAINTAINER':
      return edit({ ...c, author: step.maintainer });
    case 'ARG':
      return state;
    case 'RUN': {
      if (step.devices.length > 0) {
        throw new BuildError('UNSUPPORTED', `RUN --device is not supported (${step.devices.map((d) => d.name).join(', ')})`, 'remove --device: rootless builds cannot pass host devices');
      }
      const plan = planRunHeredoc(step.cmd, step.prependShell, step.files);
      const args = shellWrap(c, plan.cmd, step.prependShell);
      const layer = await withSnapshot(run, state, async (root) => runInSandbox(run, root, state, args, step, id, plan.script));
      return withLayer(layer, `RUN ${args.join(' ')} # rbuild`);
    }
    case 'COPY':
    case 'ADD': {
      if (step.link) {
        // --link: the files go into an empty snapshot, so the layer does not depend on what is below
        // (names in --chown and the workdir owner still come from the stage's /etc/passwd).
        const direct = await withLinkUnmounted(run, state, (t) => copyStep(run, t, state, step));
        if (direct !== FALLBACK) return withLayer(direct, `${step.original} # rbuild`);
        const layer = await withView(run, state.layers, async (below) => withEmptySnapshot(run, async (root) => copyStep(run, mountedTarget(root, below), state, step)));
        return withLayer(layer, `${step.original} # rbuild`);
      }
      // Unchanged files linked from the last run of this step (copy-reuse.ts); links only into an unmounted upper.
      const r = await openCopyReuse(step, { root: opts.root, parentKey: state.key, hashes: opts.context, lookup: !opts.noCache && !opts.noCacheFilter?.length, layerDirs: async () => (await run.deps.unmountedSnapshotter?.())?.snapshotter as Partial<LayerDirs> | undefined });
      const layer = await withWritable(run, state, async (t) => copyStep(run, t, state, step, r?.reuse.target(t.root, t.resolve !== undefined)));
      if (r && layer) r.save(chainIds([...state.layers, layer].map((l) => l.diffId)).at(-1)!);
      return withLayer(layer, `${step.original} # rbuild`);
    }
  }
}

function healthConfig(step: Extract<Step, { kind: 'HEALTHCHECK' }>): HealthConfig {
  const h: HealthConfig = { Test: step.test };
  if (step.interval) h.Interval = step.interval;
  if (step.timeout) h.Timeout = step.timeout;
  if (step.startPeriod) h.StartPeriod = step.startPeriod;
  if (step.startInterval) h.StartInterval = step.startInterval;
  if (step.retries) h.Retries = step.retries;
  return h;
}

function shellWrap(c: ImageConfig, args: string[], shellForm: boolean): string[] {
  if (!shellForm) return args;
  const shell = c.config?.Shell ?? ['/bin/sh', '-c'];
  return [...shell, args.join(' ')];
}
