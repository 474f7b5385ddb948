/**
 * One undici connection pool per endpoint, created on first use and closed when the
 * endpoint leaves the pool, so connections are kept alive across requests and never
 * outlive their endpoint.
 * @internal
 */

import { Pool as UndiciPool } from 'undici';
import type { Disposable } from '../../events.js';
import type { PoolEndpoint, PoolLike } from '../../pool/types.js';

/** Connection settings shared by every endpoint's connection pool. */
export interface UpstreamSettings {
  /** Connect timeout, ms. */
  readonly connectMs: number;
  /** Default headers timeout per try, ms (0: none). */
  readonly headersMs: number;
  /** Default idle timeout between body chunks, ms (0: none). */
  readonly idleMs: number;
  /** Most connections per endpoint; `null` for no limit. */
  readonly connections: number | null;
  /** How long an idle keep-alive connection is kept, ms. */
  readonly keepAliveTimeoutMs: number;
}

/** What a request needs to reach one endpoint. */
export class Upstream {
  /** The endpoint's URL as given, to notice a changed URL for the same id. */
  readonly url: string;
  /** The undici connection pool to the endpoint's origin. */
  readonly dispatcher: UndiciPool;
  /** The endpoint URL's path without a trailing `/` (`''` for none), prefixed to request paths. */
  readonly basePath: string;

  constructor(endpoint: PoolEndpoint, settings: UpstreamSettings) {
    const parsed = endpoint.parsedUrl;
    this.url = endpoint.url;
    const path = parsed.pathname;
    this.basePath = path === '/' ? '' : path.endsWith('/') ? path.slice(0, -1) : path;
    this.dispatcher = new UndiciPool(parsed.origin, {
      connections: settings.connections,
      connectTimeout: settings.connectMs,
      headersTimeout: settings.headersMs,
      bodyTimeout: settings.idleMs,
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      pipelining: 1,
    });
  }
}

/**
 * The map endpoint id → {@link Upstream}. `get` is the hot path: one `Map` lookup.
 * @internal
 */
export class Upstreams {
  readonly #settings: UpstreamSettings;
  readonly #byId = new Map<string, Upstream>();
  readonly #subscription: Disposable | undefined;
  #closed = false;

  constructor(pool: Pick<PoolLike, 'onMembershipChange'>, settings: UpstreamSettings) {
    this.#settings = settings;
    this.#subscription = pool.onMembershipChange((event) => {
      for (const endpoint of event.removed) this.#drop(endpoint.id);
    });
  }

  /** The upstream for `endpoint`, created on first use (or anew when its URL changed). */
  get(endpoint: PoolEndpoint): Upstream {
    let upstream = this.#byId.get(endpoint.id);
    if (upstream === undefined || upstream.url !== endpoint.url) {
      if (upstream !== undefined) this.#drop(endpoint.id);
      upstream = new Upstream(endpoint, this.#settings);
      // After close, still hand out a pool (requests then fail cleanly), but do not keep it.
      if (!this.#closed) this.#byId.set(endpoint.id, upstream);
      else void upstream.dispatcher.destroy().catch(noop);
    }
    return upstream;
  }

  /** Number of endpoints with an open connection pool. */
  get size(): number {
    return this.#byId.size;
  }

  /** Closes every connection pool; with `force`, in-flight requests are aborted. Idempotent. */
  async close(force = false): Promise<void> {
    this.#closed = true;
    this.#subscription?.dispose();
    const pending: Promise<void>[] = [];
    for (const upstream of this.#byId.values()) {
      pending.push(force ? upstream.dispatcher.destroy() : upstream.dispatcher.close());
    }
    this.#byId.clear();
    await Promise.allSettled(pending);
  }

  #drop(id: string): void {
    const upstream = this.#byId.get(id);
    if (upstream === undefined) return;
    this.#byId.delete(id);
    // Graceful: requests already on it finish; the pool removed the endpoint after draining.
    upstream.dispatcher.close().catch(noop);
  }
}

function noop(): void {}
