/**
 * undici, loaded on first use.
 *
 * The proxy forwards plain `http:` endpoints with its own HTTP/1.1 client; undici is
 * needed only for `https:` endpoints, upgrades, `httpCheck`, a `dispatcherFactory`'s pools
 * and the balanced dispatcher. Importing it costs about 5 MiB of heap and 20 ms of start-up
 * in every process, and a larger heap makes every full garbage collection slower — on a
 * long upload, the proxy collects dozens of times. So nothing here imports undici at
 * module load; each user calls {@link undici} when it first needs it.
 *
 * undici is CommonJS: `require` returns the same module an application's own
 * `import ... from 'undici'` gets, so its classes and its global dispatcher are shared.
 * @internal
 */

import { createRequire } from 'node:module';
import type * as Undici from 'undici';

let loaded: typeof Undici | undefined;

/** The undici module, required on the first call. */
export function undici(): typeof Undici {
  return (loaded ??= createRequire(import.meta.url)('undici') as typeof Undici);
}
