/** Where the store lives when `--root` is not given. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_DATA_HOME/rbuild`, else `~/.local/share/rbuild`. */
export function defaultStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.local', 'share'), 'rbuild');
}
