/**
 * One undici connection pool per endpoint, created on first use and closed when the
 * endpoint leaves the pool, so connections are kept alive across requests and never
 * outlive their endpoint.
 * @internal
 */

import type { Dispatcher, Pool as UndiciPool } from 'undici';
import type { Disposable } from '../../events.js';
import type { PoolEndpoint, PoolLike } from '../../pool/types.js';
import { quote } from '../../validate.js';
import { fastClientAvailable, H1Pool } from './h1-pool.js';
import { undici } from './undici.js';
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
  /**
   * Requests (not upgrades) to cleartext `http:` endpoints go through the proxy's own
   * HTTP/1.1 client ({@link H1Pool}), unless a `dispatcherFactory` makes the dispatchers.
   * The proxy sets it; the balanced dispatcher does not.
   */
  readonly fast?: boolean;
}

/** What a request needs to reach one endpoint. */
export class Upstream {
  /** The endpoint's URL as given, to notice a changed URL for the same id. */
  readonly url: string;
  /** The endpoint URL's path without a trailing `/` (`''` for none), prefixed to request paths. */
  readonly basePath: string;
  /**
   * The proxy's own HTTP/1.1 client to the endpoint, where it applies (see
   * {@link UpstreamSettings.fast}); undefined otherwise.
   */
  readonly fast: H1Pool | undefined;
  readonly #origin: string;
  readonly #settings: UpstreamSettings;
  #dispatcher: Dispatcher | undefined;
  #closed = false;

  /** @throws what `dispatcherFactory` throws, or a TypeError when it returns no dispatcher. */
  constructor(endpoint: PoolEndpoint, settings: UpstreamSettings) {
    const parsed = endpoint.parsedUrl;
    this.url = endpoint.url;
    const path = parsed.pathname;
    this.basePath = path === '/' ? '' : path.endsWith('/') ? path.slice(0, -1) : path;
    this.#origin = parsed.origin;
    this.#settings = settings;
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
      this.#dispatcher = dispatcher;
      this.fast = undefined;
      return;
    }
    // Cleartext endpoints speak HTTP/1.1 whatever `allowH2` says, and `connect` holds TLS
    // settings only: neither concerns them.
    this.fast =
      settings.fast === true && fastClientAvailable && parsed.protocol === 'http:'
        ? new H1Pool(parsed, settings)
        : undefined;
  }

  /** The undici connection pool to the endpoint's origin (or the application's dispatcher), made on first use. */
  get dispatcher(): Dispatcher {
    if (this.#dispatcher !== undefined) return this.#dispatcher;
    const settings = this.#settings;
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
    const made = new (undici().Pool)(this.#origin, options);
    this.#dispatcher = made;
    // Closed already (the endpoint left): requests fail as on any closed pool, and retry.
    if (this.#closed) made.close().catch(noop);
    return made;
  }

  /** Closes what was opened; with `force`, requests in flight fail. */
  close(force: boolean): Promise<void> {
    this.#closed = true;
    const pending: Promise<void>[] = [];
    const d = this.#dispatcher;
    if (d !== undefined) pending.push(force ? d.destroy() : d.close());
    const fast = this.fast;
    if (fast !== undefined) pending.push(force ? fast.destroy() : fast.close());
    return Promise.all(pending).then(noop);
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
      else void upstream.close(true).catch(noop);
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
    for (const upstream of this.#byId.values()) pending.push(upstream.close(force));
    this.#byId.clear();
    await Promise.allSettled(pending);
  }

  #drop(id: string): void {
    const upstream = this.#byId.get(id);
    if (upstream === undefined) return;
    this.#byId.delete(id);
    // Graceful: requests already on it finish; the pool removed the endpoint after draining.
    upstream.close(false).catch(noop);
  }
}

function noop(): void {}
