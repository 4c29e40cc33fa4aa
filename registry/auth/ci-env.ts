/**
 * Credentials from CI job variables: GitLab's CI_REGISTRY* / CI_JOB_TOKEN for
 * the project's registry, GitHub Actions' GITHUB_TOKEN for ghcr.io. Pure: it
 * reads the environment it is given, so tests pass a fake one.
 */
import type { Credential } from '../remote/auth-transport.js';
import { keyToHost } from './docker-config.js';

/** Where a CI credential came from: the CI system and the variable names (never their values). */
export interface CiCredentialSource {
  registry: string;
  provider: 'gitlab' | 'github';
  variables: string[];
}

/** GitLab's fixed user name that goes with CI_JOB_TOKEN. */
const GITLAB_JOB_TOKEN_USER = 'gitlab-ci-token';

/** The CI credential for a registry, if the job's variables give one. */
export function ciCredential(registry: string, env: NodeJS.ProcessEnv): { credential: Credential; source: CiCredentialSource } | undefined {
  const host = keyToHost(registry).toLowerCase();
  const set = (name: string): string | undefined => (env[name] ? env[name] : undefined);
  const ciRegistry = set('CI_REGISTRY');
  if (ciRegistry && keyToHost(ciRegistry).toLowerCase() === host) {
    const user = set('CI_REGISTRY_USER');
    const password = set('CI_REGISTRY_PASSWORD');
    if (user && password) {
      return { credential: { username: user, password }, source: { registry: host, provider: 'gitlab', variables: ['CI_REGISTRY', 'CI_REGISTRY_USER', 'CI_REGISTRY_PASSWORD'] } };
    }
    const jobToken = set('CI_JOB_TOKEN');
    if (jobToken) {
      return { credential: { username: GITLAB_JOB_TOKEN_USER, password: jobToken }, source: { registry: host, provider: 'gitlab', variables: ['CI_REGISTRY', 'CI_JOB_TOKEN'] } };
    }
  }
  const token = set('GITHUB_TOKEN');
  const actor = set('GITHUB_ACTOR');
  if (host === 'ghcr.io' && token && actor) {
    return { credential: { username: actor, password: token }, source: { registry: host, provider: 'github', variables: ['GITHUB_ACTOR', 'GITHUB_TOKEN'] } };
  }
  return undefined;
}

/** The line the CLI prints when a CI credential is used: names of variables, never values. */
export function describeCiCredential(s: CiCredentialSource): string {
  return `using ${s.provider === 'gitlab' ? 'GitLab' : 'GitHub'} CI credentials for ${s.registry} from ${s.variables.join(', ')}`;
}
