/**
 * switchyard/tcp: the TCP adapters, for Node — `tcpCheck`, an active health check for
 * `HealthMonitor` that connects (and optionally sends and expects bytes).
 *
 * @example
 * ```ts
 * import { HealthMonitor, Pool } from 'switchyard';
 * import { tcpCheck } from 'switchyard/tcp';
 *
 * const pool = new Pool({ endpoints: ['tcp://127.0.0.1:6379', 'tcp://127.0.0.1:6380'] });
 * const monitor = new HealthMonitor(pool, { check: tcpCheck({ send: 'PING\r\n', expect: '+PONG' }) });
 * monitor.start();
 * ```
 * @module
 */
// First: on a Node.js too old for this package, fail here with one clear line.
export { MIN_NODE_VERSION } from '../node-guard.js';
export { DEFAULT_TCP_CHECK_MAX_BYTES, type TcpCheckOptions, tcpCheck } from './tcp-check.js';
