/** Where rbuild keeps its store when --root is not given. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_DATA_HOME/rbuild`, else `~/.local/share/rbuild`. */
export function defaultRoot(): string {
  const xdg = process.env.XDG_DATA_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'share'), 'rbuild');
}
