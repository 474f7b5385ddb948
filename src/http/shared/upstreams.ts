/**
 * One undici connection pool per endpoint, created on first use and closed when the
 * endpoint leaves the pool, so connections are kept alive across requests and never
 * outlive their endpoint.
 * @internal
 */

import { type Dispatcher, Pool as UndiciPool } from 'undici';
import type { Disposable } from '../../events.js';
import type { PoolEndpoint, PoolLike } from '../../pool/types.js';
import { quote } from '../../validate.js';
import type { ResolvedConnection } from './upstream-options.js';

/** Connection settings shared by every endpoint's connection pool. */
export interface UpstreamSettings extends ResolvedConnection {
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
  /** The undici connection pool to the endpoint's origin (or the application's dispatcher). */
  readonly dispatcher: Dispatcher;
  /** The endpoint URL's path without a trailing `/` (`''` for none), prefixed to request paths. */
  readonly basePath: string;

  /** @throws what `dispatcherFactory` throws, or a TypeError when it returns no dispatcher. */
  constructor(endpoint: PoolEndpoint, settings: UpstreamSettings) {
    const parsed = endpoint.parsedUrl;
    this.url = endpoint.url;
    const path = parsed.pathname;
    this.basePath = path === '/' ? '' : path.endsWith('/') ? path.slice(0, -1) : path;
    const factory = settings.dispatcherFactory;
    if (factory !== undefined) {
      const dispatcher = factory(endpoint);
      if (
        typeof (dispatcher as Partial<Dispatcher> | null)?.dispatch !== 'function' ||
        typeof dispatcher.close !== 'function' ||
        typeof dispatcher.destroy !== 'function'
      ) {
        throw new TypeError(
          `dispatcherFactory must return an undici Dispatcher, got ${quote(dispatcher)}`,
        );
      }
      this.dispatcher = dispatcher;
      return;
    }
    const options: UndiciPool.Options = {
      connections: settings.connections,
      connectTimeout: settings.connectMs,
      headersTimeout: settings.headersMs,
      bodyTimeout: settings.idleMs,
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      pipelining: 1,
    };
    if (settings.connect !== undefined) options.connect = settings.connect;
    if (settings.allowH2 !== undefined) options.allowH2 = settings.allowH2;
    this.dispatcher = new UndiciPool(parsed.origin, options);
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
