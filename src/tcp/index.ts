/**
 * switchyard/tcp: the TCP adapters, for Node — `createTcpProxy`, an L4 load balancer over
 * a `Pool` (connect failover, half-close, resets and backpressure both ways, idle timeout,
 * PROXY protocol v1/v2, drain on close), and `tcpCheck`, an active health check for
 * `HealthMonitor` that connects (and optionally sends and expects bytes).
 *
 * @example
 * ```ts
 * import { HealthMonitor, LeastConnections, Pool } from 'switchyard';
 * import { createTcpProxy, tcpCheck } from 'switchyard/tcp';
 *
 * const pool = new Pool({
 *   endpoints: ['tcp://127.0.0.1:6379', 'tcp://127.0.0.1:6380'],
 *   selector: new LeastConnections(),
 * });
 * const monitor = new HealthMonitor(pool, { check: tcpCheck({ send: 'PING\r\n', expect: '+PONG' }) });
 * monitor.start();
 * const server = createTcpProxy(pool);
 * server.listen(7000, '127.0.0.1');
 * ```
 * @module
 */
// First: on a Node.js too old for this package, fail here with one clear line.
export { MIN_NODE_VERSION } from '../node-guard.js';
export {
  type TcpCloseMessage,
  type TcpCloseReason,
  type TcpConnectMessage,
  type TcpFailoverMessage,
  type TcpUnsupportedEndpointMessage,
  tcpChannels,
} from './diagnostics.js';
export { DEFAULT_TCP_CHECK_MAX_BYTES, type TcpCheckOptions, tcpCheck } from './tcp-check.js';
export { createTcpProxy, type TcpProxyLifecycle, type TcpProxyServer } from './tcp-proxy.js';
export {
  DEFAULT_TCP_ATTEMPTS,
  DEFAULT_TCP_CONNECT_TIMEOUT_MS,
  DEFAULT_TCP_DRAIN_MS,
  DEFAULT_TCP_IDLE_TIMEOUT_MS,
  type ProxyProtocolVersion,
  type TcpAffinityOptions,
  type TcpProxyCloseOptions,
  type TcpProxyOptions,
} from './tcp-proxy-options.js';
