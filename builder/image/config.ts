/**
 * Pure, immutable edits of an image config, one per Dockerfile config
 * instruction, with Docker's rules (ENTRYPOINT resets an inherited CMD, ENV
 * replaces by key in place, EXPOSE normalises to `port/proto`).
 */
import type { ContainerConfig, HealthConfig, History, ImageConfig } from '../../registry/oci/types.js';

/** The config of an empty (`FROM scratch`) image for a platform. */
export function scratchConfig(platform: { os: string; architecture: string; variant?: string }): ImageConfig {
  const c: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
  if (platform.variant) c.variant = platform.variant;
  return c;
}

function withContainer(c: ImageConfig, edit: (cc: ContainerConfig) => ContainerConfig): ImageConfig {
  return { ...c, config: edit({ ...(c.config ?? {}) }) };
}

/** The env of a config as an ordered map. */
export function envMap(c: ImageConfig): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of c.config?.Env ?? []) {
    const i = kv.indexOf('=');
    if (i < 0) m.set(kv, '');
    else m.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return m;
}

/** ENV: sets keys, keeping the position of existing ones (as Docker does). */
export function withEnv(c: ImageConfig, pairs: Array<[string, string]>): ImageConfig {
  return withContainer(c, (cc) => {
    const env = [...(cc.Env ?? [])];
    for (const [k, v] of pairs) {
      const i = env.findIndex((e) => e === k || e.startsWith(`${k}=`));
      if (i >= 0) env[i] = `${k}=${v}`;
      else env.push(`${k}=${v}`);
    }
    return { ...cc, Env: env };
  });
}

/** LABEL: adds or replaces labels. */
export function withLabels(c: ImageConfig, labels: Array<[string, string]>): ImageConfig {
  return withContainer(c, (cc) => ({ ...cc, Labels: { ...(cc.Labels ?? {}), ...Object.fromEntries(labels) } }));
}

/** EXPOSE: adds ports, `80` meaning `80/tcp`. */
export function withExposedPorts(c: ImageConfig, ports: string[]): ImageConfig {
  return withContainer(c, (cc) => {
    const out: Record<string, Record<string, never>> = { ...(cc.ExposedPorts ?? {}) };
    for (const p of ports) out[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
    return { ...cc, ExposedPorts: out };
  });
}

/** VOLUME: adds volume paths. */
export function withVolumes(c: ImageConfig, paths: string[]): ImageConfig {
  return withContainer(c, (cc) => {
    const out: Record<string, Record<string, never>> = { ...(cc.Volumes ?? {}) };
    for (const p of paths) out[p] = {};
    return { ...cc, Volumes: out };
  });
}

/** USER. */
export function withUser(c: ImageConfig, user: string): ImageConfig {
  return withContainer(c, (cc) => ({ ...cc, User: user }));
}

/** WORKDIR: relative paths resolve against the current one. */
export function withWorkdir(c: ImageConfig, dir: string): ImageConfig {
  return withContainer(c, (cc) => ({ ...cc, WorkingDir: resolveWorkdir(cc.WorkingDir, dir) }));
}

/** Resolves a WORKDIR argument against the current working directory. */
export function resolveWorkdir(current: string | undefined, dir: string): string {
  const base = current && current !== '' ? current : '/';
  const joined = dir.startsWith('/') ? dir : `${base.replace(/\/$/, '')}/${dir}`;
  return normalizeAbs(joined);
}

/** Normalises an absolute path: collapses `.`, `..` and repeated slashes; never climbs above `/`. */
export function normalizeAbs(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/**
 * ENTRYPOINT. Docker: setting ENTRYPOINT clears a CMD inherited from the base
 * or set earlier, unless CMD is set again later in the stage.
 */
export function withEntrypoint(c: ImageConfig, entrypoint: string[]): ImageConfig {
  return withContainer(c, (cc) => ({ ...cc, Entrypoint: entrypoint, Cmd: null }));
}

/** CMD. */
export function withCmd(c: ImageConfig, cmd: string[]): ImageConfig {
  return withContainer(c, (cc) => ({ ...cc, Cmd: cmd }));
}

/** HEALTHCHECK (NONE is `Test: ["NONE"]`). */
export function withHealthcheck(c: ImageConfig, hc: HealthConfig): ImageConfig {
  return withContainer(c, (cc) => ({ ...cc, Healthcheck: hc }));
}

/** STOPSIGNAL. */
export function withStopSignal(c: ImageConfig, signal: string): ImageConfig {
  return withContainer(c, (cc) => ({ ...cc, StopSignal: signal }));
}

/** SHELL. */
export function withShell(c: ImageConfig, shell: string[]): ImageConfig {
  return withContainer(c, (cc) => ({ ...cc, Shell: shell }));
}

/** ONBUILD: records a trigger. */
export function withOnBuild(c: ImageConfig, trigger: string): ImageConfig {
  return withContainer(c, (cc) => ({ ...cc, OnBuild: [...(cc.OnBuild ?? []), trigger] }));
}

/** Clears ONBUILD triggers (a child image does not inherit them). */
export function withoutOnBuild(c: ImageConfig): ImageConfig {
  return withContainer(c, (cc) => ({ ...cc, OnBuild: null }));
}

/** Appends a history entry and, when `diffId` is given, a layer. */
export function withHistory(c: ImageConfig, entry: History, diffId?: `sha256:${string}`): ImageConfig {
  const history = [...(c.history ?? []), diffId ? entry : { ...entry, empty_layer: true }];
  const rootfs = diffId ? { type: 'layers' as const, diff_ids: [...c.rootfs.diff_ids, diffId] } : c.rootfs;
  return { ...c, history, rootfs };
}
