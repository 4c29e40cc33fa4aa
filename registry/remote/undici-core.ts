/**
 * undici's connection pool and request API without the rest of undici.
 * `import 'undici'` loads its whole index (fetch, WebSocket, EventSource,
 * caches, mocks: ~110 CommonJS files, ~130 ms and ~10 MiB per command);
 * registry commands need only Agent and request. undici ships no `exports`
 * map, so its lib files are importable; if a future undici moves them, this
 * falls back to the full package rather than failing.
 */
import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Dispatcher } from 'undici';

/** undici's Agent class. */
export type Agent = UndiciAgent;

/** What request needs: an origin-relative request sent on an agent. */
type RequestOptions = { method: Dispatcher.HttpMethod; headers: Record<string, string>; body: Dispatcher.DispatchOptions['body']; signal: AbortSignal | null };

/** undici's Agent and a `request(url, opts)` bound to a given agent. */
export interface UndiciCore {
  Agent: typeof UndiciAgent;
  request(agent: Agent, url: string, opts: RequestOptions): Promise<Dispatcher.ResponseData>;
}

const require = createRequire(import.meta.url);

function load(): UndiciCore {
  try {
    const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
    const apiRequest = require('undici/lib/api/api-request.js') as (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
    if (typeof Agent === 'function' && typeof apiRequest === 'function') {
      return {
        Agent,
        request(agent, url, opts) {
          const u = new URL(url);
          return apiRequest.call(agent, { ...opts, origin: u.origin, path: `${u.pathname}${u.search}` });
        },
      };
    }
  } catch {
    // fall through to the full package
  }
  const undici = require('undici') as typeof import('undici');
  return { Agent: undici.Agent, request: (agent, url, opts) => undici.request(url, { ...opts, dispatcher: agent }) };
}

/** The loaded core (loaded once, on first import of this module). */
export const undiciCore: UndiciCore = load();
