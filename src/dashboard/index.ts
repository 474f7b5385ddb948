/**
 * switchyard/dashboard: see the traffic, the health and the latency of your pools, live.
 *
 * - `createDashboard(options)`: a request handler for Node's `http` server, Express/Connect
 *   (mounted under any path) and Fastify, serving the page (every asset bundled: no CDN),
 *   `/api/snapshot` (JSON), `/api/events` (server-sent events: a snapshot each second and
 *   each state change with its reason), `/metrics` (Prometheus text format) and, with an
 *   admin token, drain/disable/enable actions.
 * - `registerMetrics(registry, options)`: the same metrics in an existing `prom-client`
 *   registry (prom-client is an optional peer; this entry never imports it).
 *
 * The figures are recorded by the pools themselves as they serve (see `pool.snapshot()`);
 * the dashboard only reads them.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { Pool } from 'switchyard';
 * import { createDashboard } from 'switchyard/dashboard';
 *
 * const pool = new Pool({ endpoints: ['http://127.0.0.1:8081', 'http://127.0.0.1:8082'] });
 * const dashboard = createDashboard({ pools: { app: pool } });
 * http.createServer(dashboard).listen(9900, '127.0.0.1'); // open http://127.0.0.1:9900/
 * ```
 * @module
 */

export { createDashboard, type Dashboard, type NextFunction } from './dashboard.js';
export { METRIC_FAMILIES } from './metrics.js';
export {
  type DashboardMonitor,
  type DashboardOptions,
  type DashboardPool,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_EVENT_STREAMS,
  DEFAULT_POOL_NAME,
  DEFAULT_SNAPSHOT_INTERVAL_MS,
  DEFAULT_STATE_HISTORY,
  MIN_ADMIN_TOKEN_LENGTH,
} from './options.js';
export { DASHBOARD_ASSETS, DASHBOARD_CSP, type DashboardAsset } from './page/assets.js';
export {
  type MetricsRegistry,
  type RegisterMetricsOptions,
  registerMetrics,
} from './register-metrics.js';
export type {
  DashboardEndpoint,
  DashboardPoolSnapshot,
  DashboardSnapshot,
  DashboardStateEvent,
} from './snapshot.js';
