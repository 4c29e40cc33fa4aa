/**
 * Shared helpers of the e2e tests: the app the test users run, the test registry and its base image,
 * build directories and contexts owned by the test user, reading the built image and the progress events.
 */
import { chownSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { runAs, tempDirFor, TEST_USER, userInfo, type RunAsOptions } from '../support/unprivileged.js';

/** The CLI entry of the app copy the test users can read. */
export const app = (): string => join(inject('appDir'), 'dist/builder/cli/main.js');
/** `node <app> ...args` as argv, for runAs with any user. */
export const rbuildArgv = (...args: string[]): string[] => [process.execPath, app(), ...args];
/** The test registry's host:port. */
export const registry = (): string => inject('registry');
/** The busybox image every build test starts from. */
export const busybox = (): string => `${registry()}/library/busybox:latest`;

/** A context's files by relative path: text, bytes, or `{ data, mode }` for a mode other than 0644. */
export type ContextFiles = Record<string, string | Buffer | { data: string; mode: number }>;

/** Writes files (creating directories) owned by the test user. */
export function writeContext(dir: string, files: ContextFiles): void {
  const { uid, gid } = userInfo(TEST_USER);
  mkdirSync(dir, { recursive: true });
  chownSync(dir, uid, gid);
  for (const [name, content] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(join(p, '..'), { recursive: true });
    chownR(dir, join(p, '..'), uid, gid);
    if (typeof content === 'object' && 'mode' in content) writeFileSync(p, content.data, { mode: content.mode });
    else writeFileSync(p, content);
    chownSync(p, uid, gid);
  }
}

function chownR(top: string, dir: string, uid: number, gid: number): void {
  for (let d = dir; d.startsWith(top) && d !== top; d = join(d, '..')) chownSync(d, uid, gid);
}

/** Runs rbuild as the test user. */
export function rbuild(args: string[], opts: RunAsOptions = {}) {
  return runAs(TEST_USER, rbuildArgv(...args), opts);
}

/** A build's directories in a fresh temp directory of the test user: the store, the context, a --metadata-file path. */
export function buildDirs(prefix: string): { work: string; store: string; ctx: string; meta: string } {
  const work = tempDirFor(TEST_USER, prefix);
  return { work, store: join(work, 'store'), ctx: join(work, 'ctx'), meta: join(work, 'meta.json') };
}

/** buildDirs with the context written: the directories of a build and its files, in one call (a beforeAll's). */
export function buildContext(prefix: string, files: ContextFiles): { work: string; store: string; ctx: string; meta: string } {
  const dirs = buildDirs(prefix);
  writeContext(dirs.ctx, files);
  return dirs;
}

/** The host path of a blob in a store. */
export function blobPath(store: string, digest: string): string {
  return join(store, 'oci/blobs/sha256', digest.replace('sha256:', ''));
}

/** A JSON blob of a store, parsed. */
export function readBlob(store: string, digest: string): Record<string, any> {
  return JSON.parse(readFileSync(blobPath(store, digest), 'utf8'));
}

/** The manifest and config of the image a build wrote (its --metadata-file names the manifest). */
export function builtImage(store: string, meta: string): { manifest: Record<string, any>; config: Record<string, any> } {
  const manifest = readBlob(store, JSON.parse(readFileSync(meta, 'utf8'))['containerimage.digest']);
  return { manifest, config: readBlob(store, manifest.config.digest) };
}

/** Processes whose command line, working directory or root lies under `dir`. */
export function processesUsing(dir: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const links = ['cwd', 'root'].map((l) => {
        try {
          return readlinkSync(`/proc/${pid}/${l}`);
        } catch {
          return '';
        }
      });
      if (cmd.includes(dir) || links.some((l) => l.startsWith(dir))) out.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** JSON progress events from --progress=json output. */
export function events(out: string): Array<Record<string, unknown>> {
  const out2: Array<Record<string, unknown>> = [];
  for (const l of out.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out2.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // a line still being written
    }
  }
  return out2;
}

/** The text of each started step, in order. */
export function startedSteps(out: string): string[] {
  return events(out).filter((e) => e.type === 'step-start').map((e) => String(e.text));
}

/** The first word of each started step's text, in order. */
export function startedKinds(out: string): string[] {
  return events(out).filter((e) => e.type === 'step-start').map((e) => String(e.text).split(' ')[0]!);
}
