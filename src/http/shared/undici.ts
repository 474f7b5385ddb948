/**
 * undici, loaded on first use.
 *
 * The proxy forwards plain `http:` endpoints with its own HTTP/1.1 client; undici is
 * needed only for `https:` endpoints, upgrades, `httpCheck`, a `dispatcherFactory`'s pools
 * and the balanced dispatcher. Requiring it takes 110–140 ms and holds about 5.4 MiB of
 * heap in every process (measured on the benchmark machine; all of `switchyard/http` is
 * about 30 ms and 1.5 MiB), and a larger heap makes every full garbage collection slower.
 * So nothing here imports undici at module load; each user calls {@link undici} when it
 * first needs it.
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
