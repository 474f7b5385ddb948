/**
 * switchyard/http: the HTTP adapters, for Node ≥ 22 with undici.
 *
 * - `createProxyHandler(pool, options)`: a reverse proxy as a plain `(req, res)` handler
 *   (Node's `http` server, Express/Connect middleware, a Fastify route), with failover
 *   retries under a retry budget, session affinity, hop-by-hop header hygiene and
 *   `X-Forwarded-*`/`Forwarded`; `proxy.upgrade` forwards WebSocket upgrades.
 * - `createBalancedDispatcher(pool, options)` and `balancedInterceptor(pool, options)`: the
 *   same failover rules for a service's own outbound calls, as an undici `Dispatcher`
 *   (`fetch(url, { dispatcher })`) or as an interceptor for `dispatcher.compose`.
 * - `httpCheck(options)`: an active HTTP health check for `HealthMonitor`.
 * - Building blocks: `RetryBudget` (one instance can be shared by several proxies),
 *   `parseRetryAfter`, `HOP_BY_HOP_HEADERS`, the `DEFAULT_*` value of every option, and
 *   `proxyChannels`, the proxy's `node:diagnostics_channel` channels
 *   (`switchyard:proxy:request`, `:response`, `:retry`, `:error`).
 *
 * The errors these report — `NoEndpointError`, `PoolClosedError`, `UpstreamUnavailableError`,
 * `UpstreamTimeoutError`, `BadRequestError`, `BodyConsumedError`,
 * `UnsupportedEndpointError`, `AbortedError` — and their `isXxxError` guards are exported
 * by `switchyard`, not re-exported here; match on their stable `code`. The adapters take
 * any `PoolLike` (switchyard's `Pool` is one), checked with `assertPool`.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { HealthMonitor, Pool } from 'switchyard';
 * import { createBalancedDispatcher, createProxyHandler, httpCheck } from 'switchyard/http';
 * import { fetch } from 'undici';
 *
 * const pool = new Pool({ endpoints: ['http://127.0.0.1:8081', 'http://127.0.0.1:8082'] });
 * const check = httpCheck({ path: '/healthz', expectStatus: [200, 299] });
 * const monitor = new HealthMonitor(pool, { check });
 * monitor.start();
 *
 * // Inbound: a reverse proxy in front of the pool.
 * const proxy = createProxyHandler(pool, { retry: { attempts: 3 } });
 * http.createServer(proxy).on('upgrade', proxy.upgrade).listen(8080);
 *
 * // Outbound: this service's own calls, balanced over the same pool.
 * const dispatcher = createBalancedDispatcher(pool);
 * const res = await fetch('http://users.internal/v1/users/42', { dispatcher });
 * ```
 * @module
 */
// First: on a Node.js too old for this package, fail here with one clear line.
export { MIN_NODE_VERSION } from '../node-guard.js';

export {
  DEFAULT_EXPECT_STATUS,
  DEFAULT_MAX_BODY_BYTES,
  type ExpectStatus,
  type HttpCheck,
  type HttpCheckOptions,
  httpCheck,
} from './check/http-check.js';
export {
  BalancedDispatcher,
  balancedInterceptor,
  createBalancedDispatcher,
} from './dispatcher/dispatcher.js';
export type {
  BalancedDispatcherOptions,
  BalancedDispatcherTimeouts,
  BalancedInterceptorOptions,
  BalancedInterceptorTimeouts,
  DispatchKey,
} from './dispatcher/dispatcher-options.js';
export type { AffinityOptions, CookieAffinityOptions } from './proxy/affinity.js';
export {
  type ProxyErrorMessage,
  type ProxyRequestMessage,
  type ProxyResponseMessage,
  type ProxyRetryMessage,
  proxyChannels,
} from './proxy/diagnostics.js';
export { HOP_BY_HOP_HEADERS } from './proxy/headers.js';
export { createProxyHandler, type ProxyHandler } from './proxy/proxy-handler.js';
export {
  DEFAULT_UPGRADE_PROTOCOLS,
  type ProxyErrorHandler,
  type ProxyOptions,
  type ProxyTimeouts,
  type ProxyUpgradeOptions,
} from './proxy/proxy-options.js';
export type { TrustProxy } from './proxy/trust-proxy.js';
export {
  type UnsupportedEndpointMessage,
  unsupportedEndpointChannel,
} from './shared/endpoint-scheme.js';
export { DEFAULT_MAX_RETRY_AFTER_MS, parseRetryAfter } from './shared/retry-after.js';
export {
  DEFAULT_RETRY_BUDGET_MIN_PER_SECOND,
  DEFAULT_RETRY_BUDGET_RATIO,
  DEFAULT_RETRY_BUDGET_WINDOW_MS,
  RetryBudget,
  type RetryBudgetOptions,
} from './shared/retry-budget.js';
export {
  DEFAULT_BODY_BUFFER_BYTES,
  DEFAULT_RETRY_ATTEMPTS,
  DEFAULT_RETRY_STATUSES,
  type FailureKind,
  type RetryOptions,
} from './shared/retry-policy.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_TUNNEL_IDLE_TIMEOUT_MS,
} from './shared/timeouts.js';
