/** The catalog of `rbuild check` rules: id, severity, what each looks for and how to fix it. */
import type { RuleMeta } from './types.js';

/** Every rule, by id. */
export const RULES = {
  RB001: { id: 'RB001', name: 'runs-as-root', severity: 'error', description: 'The image runs as root: the final USER is unset, root, 0 or a name that resolves to uid 0.', fix: 'Add a non-root user (RUN adduser -D -u 10001 app) and end the Dockerfile with USER 10001.' },
  RB002: { id: 'RB002', name: 'user-not-found', severity: 'error', description: "The final USER (or its group) does not exist in the image's /etc/passwd (/etc/group): the container will not start.", fix: 'Create the user in the image (adduser/useradd) before USER, or use a numeric USER uid:gid.' },
  RB003: { id: 'RB003', name: 'workdir-not-writable', severity: 'warn', description: 'The WORKDIR is missing, or not owned by and not writable for the USER the image runs as.', fix: 'Create the WORKDIR owned by the user: RUN mkdir -p DIR && chown USER DIR (or COPY --chown=USER).' },
  RB004: { id: 'RB004', name: 'world-writable-file', severity: 'warn', description: "A file added by this image's layers is writable by every user.", fix: 'Drop the write bit for others: COPY --chmod=644 or RUN chmod o-w FILE.' },
  RB005: { id: 'RB005', name: 'world-writable-dir', severity: 'warn', description: 'A directory is writable by every user without the sticky bit: anyone can delete or replace its files.', fix: 'Make it owned by the user and chmod o-w, or set the sticky bit (chmod 1777) like /tmp.' },
  RB006: { id: 'RB006', name: 'privileged-port', severity: 'warn', description: 'EXPOSE of a port below 1024: a non-root process cannot bind it by default.', fix: 'Listen on a port of 1024 or above (e.g. 8080) and map it at run time (-p 80:8080).' },
  RB007: { id: 'RB007', name: 'setuid-setgid', severity: 'warn', description: 'A setuid or setgid file: it lets any process gain the owner\'s or group\'s privileges.', fix: 'Remove the bit (RUN chmod u-s,g-s FILE) or the file, unless the image really needs it.' },
  RB008: { id: 'RB008', name: 'file-capabilities', severity: 'warn', description: 'A file with file capabilities (security.capability xattr): it gains privileges when run.', fix: 'Remove them (RUN setcap -r FILE) and grant capabilities at run time only if needed.' },
  RB009: { id: 'RB009', name: 'secret-in-layer', severity: 'error', description: 'A private key or credential file is in a layer (deleting it in a later layer does not remove it from the image).', fix: 'Pass secrets with RUN --mount=type=secret or --secret; never COPY them; rebuild without the file and rotate it.' },
  RB010: { id: 'RB010', name: 'secret-in-config', severity: 'error', description: 'An ARG or ENV whose name or value looks like a secret: it is kept in the image config and history.', fix: 'Pass the secret with --secret and RUN --mount=type=secret instead of ARG/ENV.' },
  RB011: { id: 'RB011', name: 'base-not-pinned', severity: 'warn', description: 'The base image is not pinned by digest: the same Dockerfile may build on different content.', fix: 'Pin the base: FROM image:tag@sha256:<digest>.' },
  RB012: { id: 'RB012', name: 'add-url-without-checksum', severity: 'warn', description: 'ADD of a URL without --checksum: the download is not verified.', fix: 'Add --checksum=sha256:<hex> to the ADD, or download and verify in a RUN step.' },
  RB013: { id: 'RB013', name: 'shell-form-command', severity: 'warn', description: 'ENTRYPOINT/CMD in shell form: the shell is PID 1 and signals (SIGTERM) do not reach the process.', fix: 'Use the exec form: CMD ["executable", "arg"] (or exec the process from a script).' },
  RB014: { id: 'RB014', name: 'no-healthcheck', severity: 'info', description: 'The image has no HEALTHCHECK.', fix: 'Add HEALTHCHECK CMD ["/app/healthcheck"] (or a wget/curl of a health endpoint).' },
  RB015: { id: 'RB015', name: 'package-cache', severity: 'warn', description: 'A package-manager cache is left in the image and costs bytes in every pull.', fix: 'Clean it in the same RUN (rm -rf /var/lib/apt/lists/*, npm cache clean --force, pip --no-cache-dir) or use a cache mount.' },
} as const satisfies Record<string, RuleMeta>;

/** A rule id. */
export type RuleId = keyof typeof RULES;

/** All rules in id order. */
export const allRules: readonly RuleMeta[] = Object.values(RULES);
