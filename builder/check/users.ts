/** Resolving the image's USER (`name`, `uid`, `name:group`, `uid:gid`) against its /etc/passwd and /etc/group. */

/** A USER resolved in the image. */
export interface ResolvedUser {
  uid?: number;
  gid?: number;
  /** Supplementary groups from /etc/group. */
  groups?: number[];
  /** Which part could not be found, if any. */
  missing?: 'user' | 'group';
}

/** Parses passwd-style lines into their fields. */
function rows(text: string | undefined): string[][] {
  return (text ?? '').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
}

/** Resolves a USER value; an empty value is root, like the runtime does. */
export function resolveUser(spec: string, passwd?: string, group?: string): ResolvedUser {
  const [userPart = '', groupPart] = spec.split(':', 2) as [string, string | undefined];
  const users = rows(passwd);
  const groups = rows(group);
  const out: ResolvedUser = {};
  let name: string | undefined;
  if (userPart === '' || /^\d+$/.test(userPart)) {
    out.uid = userPart === '' ? 0 : Number(userPart);
    const row = users.find((r) => Number(r[2]) === out.uid);
    if (row) {
      name = row[0];
      out.gid = Number(row[3]);
    } else out.gid = out.uid === 0 ? 0 : out.uid;
  } else {
    const row = users.find((r) => r[0] === userPart);
    if (!row) return { missing: 'user' };
    name = userPart;
    out.uid = Number(row[2]);
    out.gid = Number(row[3]);
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) out.gid = Number(groupPart);
    else {
      const row = groups.find((r) => r[0] === groupPart);
      if (!row) return { ...out, missing: 'group' };
      out.gid = Number(row[2]);
    }
  }
  if (name !== undefined) out.groups = groups.filter((r) => (r[3] ?? '').split(',').includes(name!)).map((r) => Number(r[2]));
  return out;
}
