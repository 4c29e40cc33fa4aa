/** Shared helpers of the build e2e tests: contexts owned by the test user, running rbuild, reading events. */
import { chownSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { runAs, TEST_USER, userInfo, type RunAsOptions } from '../support/unprivileged.js';

/** The CLI entry of the app copy the test users can read. */
export const app = (): string => join(inject('appDir'), 'dist/builder/cli/main.js');
/** The test registry's host:port. */
export const registry = (): string => inject('registry');
/** The busybox image every build test starts from. */
export const busybox = (): string => `${registry()}/library/busybox:latest`;

/** Writes files (creating directories) owned by the test user. */
export function writeContext(dir: string, files: Record<string, string | Buffer>): void {
  const { uid, gid } = userInfo(TEST_USER);
  mkdirSync(dir, { recursive: true });
  chownSync(dir, uid, gid);
  for (const [name, content] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(join(p, '..'), { recursive: true });
    chownR(dir, join(p, '..'), uid, gid);
    writeFileSync(p, content);
    chownSync(p, uid, gid);
  }
}

function chownR(top: string, dir: string, uid: number, gid: number): void {
  for (let d = dir; d.startsWith(top) && d !== top; d = join(d, '..')) chownSync(d, uid, gid);
}

/** Runs rbuild as the test user. */
export function rbuild(args: string[], opts: RunAsOptions = {}) {
  return runAs(TEST_USER, [process.execPath, app(), ...args], opts);
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

/** The first word of each started step's text, in order. */
export function startedKinds(out: string): string[] {
  return events(out).filter((e) => e.type === 'step-start').map((e) => String(e.text).split(' ')[0]!);
}
