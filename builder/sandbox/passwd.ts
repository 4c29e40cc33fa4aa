/**
 * Resolving a Dockerfile USER (`name|uid[:group|gid]`) against the root's /etc/passwd and /etc/group, with
 * the rules of runc's GetExecUser that docker build uses: supplementary groups only when no group is given.
 */
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A resolved step identity. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups: the primary gid first, then /etc/group memberships (as containerd/moby do since CVE-2023-25173). */
  additionalGids: number[];
  /** The user's home from passwd, `/` when unknown (docker build sets HOME from it when unset). */
  home: string;
  /** The passwd name, when matched. */
  name?: string;
}

/** USER or --chown could not be resolved (code EUSER) or is malformed (EUSERSPEC). */
export class UserResolveError extends Error {
  override name = 'UserResolveError';
  code: 'EUSER' | 'EUSERSPEC';
  /** What to do about it (the CLI prints it under the error line). */
  readonly hint: string;
  constructor(code: 'EUSER' | 'EUSERSPEC', message: string) {
    super(message);
    this.code = code;
    // Names are looked up in the image as it is at that step, not on the host: the usual slip.
    this.hint = code === 'EUSER'
      ? "names in USER and --chown are looked up in the image's /etc/passwd and /etc/group at that step: create them in an earlier RUN (useradd, groupadd) or give numeric ids (1001:1001)"
      : 'give name, uid, name:group or uid:gid';
  }
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

const MAX_ID = 2 ** 31 - 1;

function numeric(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  if (n > MAX_ID) throw new UserResolveError('EUSERSPEC', `id ${s} is out of range (max ${MAX_ID})`);
  return n;
}

/** Parses /etc/passwd text (malformed lines skipped, as libc does). */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 7) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid, gid, home: f[5] || '/' });
  }
  return out;
}

/** Parses /etc/group text. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4 || !/^\d+$/.test(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: f[3] ? f[3].split(',').map((m) => m.trim()).filter(Boolean) : [] });
  }
  return out;
}

/** Resolves USER (empty means root) against passwd and group file contents (pure). */
export function resolveUser(user: string, passwdText: string, groupText: string): ResolvedUser {
  const spec = user.trim() || '0';
  const colon = spec.indexOf(':');
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const groupArg = colon < 0 ? '' : spec.slice(colon + 1);
  if (!userArg) throw new UserResolveError('EUSERSPEC', `invalid USER ${JSON.stringify(user)}`);
  const passwd = parsePasswd(passwdText);
  const uidNum = numeric(userArg);
  const entry = passwd.find((p) => (uidNum === undefined ? p.name === userArg : p.uid === uidNum));
  if (!entry && uidNum === undefined) {
    throw new UserResolveError('EUSER', `unable to find user ${userArg}: no matching entries in passwd file`);
  }
  const res: ResolvedUser = entry
    ? { uid: entry.uid, gid: entry.gid, additionalGids: [], home: entry.home, name: entry.name }
    : { uid: uidNum!, gid: 0, additionalGids: [], home: '/' };
  const groups = parseGroup(groupText);
  if (groupArg) {
    const gidNum = numeric(groupArg);
    if (gidNum !== undefined) res.gid = gidNum;
    else {
      const g = groups.find((x) => x.name === groupArg);
      if (!g) throw new UserResolveError('EUSER', `unable to find group ${groupArg}: no matching entries in group file`);
      res.gid = g.gid;
    }
  }
  res.additionalGids = [res.gid];
  if (!groupArg && res.name) {
    const seen = new Set<number>([res.gid]);
    for (const g of groups) {
      if (g.members.includes(res.name) && !seen.has(g.gid)) {
        seen.add(g.gid);
        res.additionalGids.push(g.gid);
      }
    }
  }
  return res;
}

async function readRegular(path: string): Promise<string> {
  try {
    // A symlinked passwd could point at a host file; an image's passwd is a plain file.
    const st = await lstat(path);
    if (!st.isFile()) return '';
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Reads the root's /etc/passwd and /etc/group (missing files read as empty) and resolves USER. */
export async function resolveUserInRoot(rootfs: string, user: string): Promise<ResolvedUser> {
  const [passwd, group] = await Promise.all([readRegular(join(rootfs, 'etc/passwd')), readRegular(join(rootfs, 'etc/group'))]);
  return resolveUser(user, passwd, group);
}
