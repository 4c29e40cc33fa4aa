/**
 * Which paths look like secrets or package-manager caches, and which bytes
 * look like a private key. Pure tables so the walker stays a loop and these
 * are tested on their own.
 */

/** A secret-file pattern: a path test, and optionally a content test on the first bytes. */
interface SecretPattern {
  kind: string;
  test: (path: string, base: string) => boolean;
  /** When set, the file is a secret only if its first bytes match (e.g. .npmrc with a token). */
  content?: RegExp;
}

const secretPatterns: SecretPattern[] = [
  { kind: 'ssh private key', test: (_p, b) => /^id_(rsa|dsa|ecdsa|ed25519)(_sk)?$/.test(b) },
  { kind: 'dotenv file', test: (_p, b) => b === '.env' || (/^\.env\.[\w-]+$/.test(b) && !/\.(example|sample|template|dist|defaults?)$/.test(b)) },
  { kind: 'npm token', test: (_p, b) => b === '.npmrc', content: /_authToken|_auth\s*=|_password\s*=/ },
  { kind: 'docker registry credentials', test: (p) => p.endsWith('/.docker/config.json'), content: /"auth"\s*:\s*"[^"]/ },
  { kind: 'pypi credentials', test: (_p, b) => b === '.pypirc', content: /password\s*[=:]/ },
  { kind: 'pip credentials', test: (p) => /\/pip\/pip\.conf$|\/\.pip\/pip\.conf$/.test(p), content: /:\/\/[^/\s:]+:[^@\s]+@/ },
  { kind: 'aws credentials', test: (p) => p.endsWith('/.aws/credentials') },
  { kind: 'git credentials', test: (_p, b) => b === '.git-credentials' },
  { kind: 'netrc credentials', test: (_p, b) => b === '.netrc', content: /password/ },
  { kind: 'gcloud credentials', test: (p) => /\/\.config\/gcloud\/(credentials\.db|application_default_credentials\.json)$/.test(p) },
  { kind: 'kubeconfig', test: (p) => p.endsWith('/.kube/config') },
  { kind: 'private key file', test: (_p, b) => /\.(pem|key|p12|pfx)$/.test(b), content: /PRIVATE KEY-----|^\x30\x82/ },
];

/** Bytes the walker reads from a file's start to run the content tests. */
export const SNIFF_BYTES = 4096;

// Only a file's first bytes are tested: keys and credential files put what matters at the top.
const privateKeyRe = /^\s*-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----/;

/** True when a path may be a secret file (so its first bytes are worth keeping). */
export function secretCandidate(path: string): SecretPattern | undefined {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return secretPatterns.find((p) => p.test(path, base));
}

/** The secret kind of a file from its path and first bytes, or undefined. */
export function classifySecret(path: string, head: Buffer): string | undefined {
  const text = head.toString('latin1');
  if (privateKeyRe.test(text)) return 'private key';
  const p = secretCandidate(path);
  if (!p) return undefined;
  if (p.content && !p.content.test(text)) return undefined;
  return p.kind;
}

/** True when the first bytes start like a PEM private key (any file may be one). */
export function looksLikePrivateKey(head: Buffer): boolean {
  return head.length >= 11 && privateKeyRe.test(head.toString('latin1'));
}

/** Package-manager cache directories worth flagging, with the manager that leaves them. */
const cacheDirs: Array<{ re: RegExp; manager: string }> = [
  { re: /^\/var\/lib\/apt\/lists$/, manager: 'apt' },
  { re: /^\/var\/cache\/apt$/, manager: 'apt' },
  { re: /^\/var\/cache\/apk$/, manager: 'apk' },
  { re: /^\/var\/cache\/(dnf|yum)$/, manager: 'dnf/yum' },
  { re: /^\/(root|home\/[^/]+)\/\.npm$/, manager: 'npm' },
  { re: /^\/(root|home\/[^/]+)\/\.cache\/pip$/, manager: 'pip' },
  { re: /^\/(root|home\/[^/]+)\/\.cache\/yarn$/, manager: 'yarn' },
  { re: /^\/usr\/local\/share\/\.cache\/yarn$/, manager: 'yarn' },
  { re: /^\/(root|home\/[^/]+)\/\.cache\/go-build$/, manager: 'go' },
  { re: /^\/(root|home\/[^/]+)\/\.cargo\/registry$/, manager: 'cargo' },
];

/** Files that belong to a cache dir but are not cache content (apt's lock and partial dir). */
const notCache = /^\/var\/lib\/apt\/lists\/(lock|partial(\/.*)?)$|^\/var\/cache\/apt\/archives\/(lock|partial(\/.*)?)$/;

/** The cache dir a file lies under, or undefined. */
export function cacheDirOf(path: string): { dir: string; manager: string } | undefined {
  if (notCache.test(path)) return undefined;
  const parts = path.split('/');
  // Cache dirs are at most 4 components deep; test each ancestor.
  for (let n = 2; n <= Math.min(parts.length - 1, 5); n++) {
    const dir = parts.slice(0, n + 1).join('/');
    if (dir === path) break;
    const hit = cacheDirs.find((c) => c.re.test(dir));
    if (hit) return { dir, manager: hit.manager };
  }
  return undefined;
}

const secretNameRe = /(^|[_.-])(pass(word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|secret[_-]?key|credentials?|auth)($|[_.-])/i;
const notSecretNameRe = /(^|_)(public|file|path|dir|url|host|user(name)?|len(gth)?|type|method|endpoint|id)$/i;
const secretValueRes: Array<[RegExp, string]> = [
  [/AKIA[0-9A-Z]{16}/, 'AWS access key id'],
  [/gh[pousr]_[A-Za-z0-9]{36,}/, 'GitHub token'],
  [/glpat-[A-Za-z0-9_-]{20,}/, 'GitLab token'],
  [/xox[abpors]-[A-Za-z0-9-]{10,}/, 'Slack token'],
  [/sk_live_[A-Za-z0-9]{16,}/, 'Stripe key'],
  [/npm_[A-Za-z0-9]{36}/, 'npm token'],
  [/-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----/, 'private key'],
  [/:\/\/[^/\s:@]+:[^@\s/]{3,}@/, 'password in a URL'],
];

/** Why a build-arg/ENV name or value looks like a secret, or undefined. Empty values are not secrets. */
export function secretVariable(name: string, value: string | undefined): string | undefined {
  if (value !== undefined) {
    for (const [re, what] of secretValueRes) if (re.test(value)) return `its value looks like a ${what}`;
  }
  if (value === '') return undefined;
  if (secretNameRe.test(name) && !notSecretNameRe.test(name)) return 'its name looks like a secret';
  return undefined;
}
