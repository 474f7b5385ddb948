/**
 * A pool chosen per request (http-proxy-middleware's `router`): one engine per pool the
 * router returns — its own connection pools, affinity index and membership subscriptions —
 * made on the pool's first request and kept until the proxy closes. The options, and the
 * retry budget with them, are shared.
 * @internal
 */

import type { IncomingMessage } from 'node:http';
import { PoolClosedError } from '../../errors.js';
import { assertPool } from '../../pool/assert-pool.js';
import type { PoolLike } from '../../pool/types.js';
import { Affinity } from './affinity.js';
import { ProxyEngine } from './proxy-engine.js';
import type { ResolvedProxyOptions } from './proxy-options.js';

/**
 * Chooses the pool of a request, for `createProxyHandler(router, options)`. Return
 * long-lived pools (made once, as a map from a host or a path prefix): each pool the
 * router returns gets connection pools of its own, kept until the proxy closes. If it
 * throws or returns something that is not a pool, the proxy answers 500 (through
 * `onError`).
 *
 * @example
 * ```ts
 * const pools = { api: new Pool({ endpoints: apiUrls }), web: new Pool({ endpoints: webUrls }) };
 * const proxy = createProxyHandler((req) => (req.url?.startsWith('/api/') ? pools.api : pools.web));
 * ```
 */
export type PoolRouter = (req: IncomingMessage) => PoolLike;

/** @internal */
export class ProxyRouter {
  readonly #choose: PoolRouter;
  readonly #options: ResolvedProxyOptions;
  readonly #engines = new Map<PoolLike, ProxyEngine>();
  #closed = false;

  constructor(choose: PoolRouter, options: ResolvedProxyOptions) {
    this.#choose = choose;
    this.#options = options;
  }

  /**
   * The engine of the pool `req` goes to.
   * @throws what the router throws; a TypeError for something that is not a pool;
   *   `UnsupportedEndpointError` for a new pool with an endpoint that is not http(s);
   *   `PoolClosedError` once the proxy is closed.
   */
  engineFor(req: IncomingMessage): ProxyEngine {
    if (this.#closed) throw new PoolClosedError('the proxy is closed');
    const pool = this.#choose(req);
    let engine = this.#engines.get(pool);
    if (engine === undefined) {
      try {
        assertPool(pool, 'pool router');
      } catch (error) {
        const detail = (error as Error).message.replace(/^.*? got /, 'got ');
        throw new TypeError(`createProxyHandler's pool router must return a Pool, ${detail}`);
      }
      const options = this.#options;
      const affinity =
        options.affinityOptions === undefined ? undefined : new Affinity(options.affinityOptions);
      engine = new ProxyEngine(pool, options, affinity);
      this.#engines.set(pool, engine);
    }
    return engine;
  }

  /** Closes every pool's engine; see `ProxyEngine.close`. */
  async close(force: boolean): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#engines.values()].map((engine) => engine.close(force)));
  }
}
