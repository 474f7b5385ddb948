/**
 * What every request of one proxy shares: resolved options, the retry policy and budget,
 * the upstream connection pools and the affinity index.
 * @internal
 */

import type { Disposable } from '../../events.js';
import type { Lease, PoolLike } from '../../pool/types.js';
import type { RetryPolicy } from '../shared/retry-policy.js';
import { Upstreams } from '../shared/upstreams.js';
import type { Affinity } from './affinity.js';
import type { RequestHeaderRules } from './headers.js';
import type { ProxyErrorHandler, ResolvedProxyOptions } from './proxy-options.js';

/** @internal */
export class ProxyEngine {
  readonly pool: PoolLike;
  readonly policy: RetryPolicy;
  readonly upstreams: Upstreams;
  readonly rules: RequestHeaderRules;
  readonly affinity: Affinity | undefined;
  readonly onError: ProxyErrorHandler | undefined;
  readonly requestMs: number;
  readonly now: () => number;
  readonly #trustProxy: boolean | ((address: string) => boolean);
  readonly #membership: Disposable | undefined;
  closed = false;

  constructor(pool: PoolLike, options: ResolvedProxyOptions) {
    this.pool = pool;
    this.policy = options.policy;
    this.affinity = options.affinity;
    this.onError = options.onError;
    this.requestMs = options.requestMs;
    this.now = options.now;
    this.#trustProxy = options.trustProxy;
    this.rules = {
      changeOrigin: options.changeOrigin,
      xForwarded: options.xForwarded,
      forwarded: options.forwarded,
    };
    this.upstreams = new Upstreams(pool, {
      connectMs: options.connectMs,
      headersMs: options.headersMs,
      idleMs: options.idleMs,
      connections: options.connections,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
    });
    const affinity = this.affinity;
    if (affinity?.mode === 'cookie') {
      affinity.index(pool.endpoints);
      this.#membership = pool.onMembershipChange(() => affinity.index(pool.endpoints));
    }
  }

  /** Whether a client at `address` may set `X-Forwarded-*`. */
  trusts(address: string | undefined): boolean {
    const trust = this.#trustProxy;
    if (typeof trust === 'boolean') return trust;
    if (address === undefined) return false;
    try {
      return trust(address) === true;
    } catch {
      return false;
    }
  }

  /**
   * The first lease of a request: the endpoint its affinity cookie names when that one is
   * eligible (the pool's `prefer`, O(1)), else the selector's pick (with the hash key, if
   * any).
   * @throws NoEndpointError or PoolClosedError.
   */
  acquire(key: string | undefined, cookieToken: string | undefined): Lease {
    if (cookieToken !== undefined) {
      // The token → id index is rebuilt on membership changes, not per request.
      const prefer = this.affinity?.idForToken(cookieToken);
      if (prefer !== undefined) return this.pool.acquire({ prefer });
    }
    return key === undefined ? this.pool.acquire() : this.pool.acquire({ key });
  }

  /** Stops taking requests and closes the upstream connection pools. */
  async close(force: boolean): Promise<void> {
    this.closed = true;
    this.#membership?.dispose();
    await this.upstreams.close(force);
  }
}
