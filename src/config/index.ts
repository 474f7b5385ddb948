/**
 * The config file of `switchyard serve`: its one definition ({@link configSchema}), the
 * type it describes, loading and the error lines of `switchyard check`. Used by the
 * command line only: it is bundled into `dist/cli.js` and is not a public entry.
 * @module
 */

export { redactCredentials } from '../validate.js';
export { configSchema, type SwitchyardConfig } from './config-schema.js';
export type { HealthCheckConfig } from './health-check-schema.js';
export { type ConfigIssue, formatIssue, formatPath } from './issues.js';
export { formatListenAddress, type ListenAddress, parseListenAddress } from './listen-address.js';
export type {
  DashboardConfig,
  HttpListenerConfig,
  ListenerConfig,
  TcpListenerConfig,
} from './listener-schema.js';
export {
  describeFailure,
  type LoadResult,
  loadConfig,
  parseText,
  syntaxOf,
  validateConfig,
} from './load-config.js';
export type { DnsDiscoveryConfig, EndpointConfig, PoolConfig } from './pool-schema.js';
export { SELECTOR_NAMES, type SelectorConfig, type SelectorName } from './selector-schema.js';
