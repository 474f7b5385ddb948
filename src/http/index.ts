/**
 * switchyard/http: the HTTP adapters, for Node ≥ 22 with undici — `httpCheck`, an active
 * health check for `HealthMonitor`.
 *
 * @example
 * ```ts
 * import { HealthMonitor, Pool } from 'switchyard';
 * import { httpCheck } from 'switchyard/http';
 *
 * const pool = new Pool({ endpoints: ['http://127.0.0.1:8081', 'http://127.0.0.1:8082'] });
 * const check = httpCheck({ path: '/healthz', expectStatus: [200, 299] });
 * const monitor = new HealthMonitor(pool, { check });
 * monitor.start();
 * ```
 * @module
 */
export {
  DEFAULT_EXPECT_STATUS,
  DEFAULT_MAX_BODY_BYTES,
  type ExpectStatus,
  type HttpCheck,
  type HttpCheckOptions,
  httpCheck,
} from './http-check.js';
