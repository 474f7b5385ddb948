/**
 * What every request of one proxy shares: resolved options, the retry policy and budget,
 * the upstream connection pools and the affinity index.
 * @internal
 */

import type { Dispatcher } from 'undici';
import type { Disposable } from '../../events.js';
import type { Logger } from '../../logger.js';
import type { PoolEndpoint, PoolLike } from '../../pool/types.js';
import { EndpointSchemes } from '../shared/endpoint-scheme.js';
import type { RetryPolicy } from '../shared/retry-policy.js';
import type { TryTarget } from '../shared/try-loop.js';
import { Upstreams } from '../shared/upstreams.js';
import type { Affinity } from './affinity.js';
import type { RequestHeaderRules } from './headers.js';
import type { ResolvedResponseBody, RewriteRequest, RewriteResponse } from './hooks.js';
import type { ProxyErrorHandler, ResolvedProxyOptions } from './proxy-options.js';
import type { ProxyTrust } from './trust-proxy.js';
import type { Tunnel } from './tunnel.js';

/** @internal */
export class ProxyEngine implements TryTarget {
  readonly pool: PoolLike;
  readonly policy: RetryPolicy;
  readonly upstreams: Upstreams;
  readonly rules: RequestHeaderRules;
  readonly affinity: Affinity | undefined;
  readonly onError: ProxyErrorHandler | undefined;
  readonly requestMs: number;
  readonly now: () => number;
  /** Which peers are trusted proxies. */
  readonly trust: ProxyTrust;
  readonly #membership: Disposable | undefined;
  readonly #schemes: EndpointSchemes;
  /** Ids of endpoints the proxy cannot speak to (they arrived after it was created). */
  readonly unsupported: ReadonlySet<string>;
  /** Longest silence both ways on a tunnel, ms (0: none). */
  readonly tunnelIdleMs: number;
  /** The `Upgrade` protocols tunnelled, lower case. */
  readonly upgradeProtocols: ReadonlySet<string>;
  readonly #tunnels = new Set<Tunnel>();
  readonly rewriteRequest: RewriteRequest | undefined;
  readonly rewriteResponse: RewriteResponse | undefined;
  readonly responseBody: ResolvedResponseBody | undefined;
  /** Either response hook is set: one test on the default path. */
  readonly responseHooks: boolean;
  readonly logger: Logger | undefined;
  closed = false;

  /**
   * @param affinity - this pool's affinity state (each routed pool has its own).
   * @throws UnsupportedEndpointError for an endpoint of `pool` that is not http(s).
   */
  constructor(
    pool: PoolLike,
    options: ResolvedProxyOptions,
    affinity: Affinity | undefined = options.affinity,
  ) {
    this.#schemes = new EndpointSchemes('createProxyHandler', pool, options.logger);
    this.unsupported = this.#schemes.unsupported;
    this.pool = pool;
    this.policy = options.policy;
    this.affinity = affinity;
    this.rewriteRequest = options.rewriteRequest;
    this.rewriteResponse = options.rewriteResponse;
    this.responseBody = options.responseBody;
    this.responseHooks =
      options.rewriteResponse !== undefined || options.responseBody !== undefined;
    this.logger = options.logger;
    this.onError = options.onError;
    this.requestMs = options.requestMs;
    this.tunnelIdleMs = options.tunnelIdleMs;
    this.upgradeProtocols = options.upgradeProtocols;
    this.now = options.now;
    this.trust = options.trustProxy;
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
      fast: true,
      connect: options.connect,
      allowH2: options.allowH2,
      dispatcherFactory: options.dispatcherFactory,
    });
    if (affinity?.mode === 'cookie') {
      affinity.index(pool.endpoints);
      this.#membership = pool.onMembershipChange(() => affinity.index(pool.endpoints));
    }
  }

  /**
   * Sends one try to `endpoint` through its connection pool, the endpoint URL's path
   * prefixed to `path`.
   * @throws when no connection pool can be made for the endpoint (the try loop makes that
   *   a failed try).
   */
  send(
    endpoint: PoolEndpoint,
    opts: Dispatcher.DispatchOptions,
    path: string,
    handler: Dispatcher.DispatchHandler,
  ): void {
    const upstream = this.upstreams.get(endpoint);
    opts.path = upstream.basePath === '' ? path : upstream.basePath + path;
    // Errors, even synchronous ones, come back through the handler's onResponseError.
    const fast = upstream.fast;
    if (fast !== undefined && opts.upgrade == null) fast.dispatch(opts, handler);
    else upstream.dispatcher.dispatch(opts, handler);
  }

  /** Keeps `tunnel` until it closes, so that `close({ force })` can end it. */
  openTunnel(tunnel: Tunnel): void {
    const tunnels = this.#tunnels;
    tunnels.add(tunnel);
    tunnel.onClosed = (closed) => tunnels.delete(closed);
  }

  /** Open tunnels. */
  get tunnels(): number {
    return this.#tunnels.size;
  }

  /**
   * Stops taking requests and closes the upstream connection pools; with `force`, requests
   * in flight are aborted and tunnels ended.
   */
  async close(force: boolean): Promise<void> {
    this.closed = true;
    if (force) for (const tunnel of [...this.#tunnels]) tunnel.close();
    this.#membership?.dispose();
    this.#schemes.dispose();
    await this.upstreams.close(force);
  }
}
