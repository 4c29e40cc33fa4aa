/**
 * Keeps undici's WebAssembly HTTP parser (llhttp) on V8's baseline compiler.
 * Otherwise V8 optimises it with TurboFan on background threads and exit waits
 * for those jobs: ~150 ms after a pull or push has finished.
 *
 * Why not at startup: changing a V8 flag at run time changes V8's flag hash,
 * and V8 then rejects the code cache Node embeds for its own modules, so every
 * `node:` module loaded afterwards is compiled from source (~3x slower to load:
 * +40-60 ms of CPU per command). So the flag is set as late as possible: after
 * the registry client (and the node: modules it uses) has been loaded, before
 * its first connection compiles llhttp. Commands that never touch the network
 * (a fully cached build) never set it.
 */
let done = false;

/** Call once the HTTP client is loaded and before its first request; idempotent. */
export async function useBaselineWasmCompiler(): Promise<void> {
  if (done) return;
  done = true;
  // node:v8 itself is loaded only here (a few ms that a cached build does not need).
  (await import('node:v8')).setFlagsFromString('--liftoff-only');
}
