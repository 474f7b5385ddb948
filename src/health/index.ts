export { HEALTH_CHECK_REASON, HealthMonitor } from './health-monitor.js';
export {
  DEFAULT_HEALTH_CONCURRENCY,
  DEFAULT_HEALTH_INTERVAL_MS,
  DEFAULT_HEALTH_JITTER,
  DEFAULT_HEALTH_TIMEOUT_MS,
  DEFAULT_HEALTH_UNHEALTHY_INTERVAL_MS,
  DEFAULT_HEALTHY_THRESHOLD,
  DEFAULT_UNHEALTHY_THRESHOLD,
  type HealthCheck,
  type HealthCheckEvent,
  type HealthMonitorOptions,
  type HealthStatus,
} from './options.js';
export type { TimerApi } from './scheduler.js';
