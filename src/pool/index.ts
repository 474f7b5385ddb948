/**
 * The pool: endpoint state, leases, outlier detection, slow start and failover.
 * @module
 */

export type { Disposable } from '../events.js';
export { assertPool } from './assert-pool.js';
export {
  type BackoffOptions,
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_EXECUTE_ATTEMPTS,
  type ExecuteContext,
  type ExecuteOptions,
} from './execute-options.js';
export { LATENCY_HISTOGRAM_BOUNDS_MS } from './latency-buckets.js';
export {
  DEFAULT_LATENCY_DECAY_MS,
  DEFAULT_MAX_RETRY_AFTER_MS,
  DEFAULT_PANIC_THRESHOLD,
  DEFAULT_SLOW_START_MS,
  type PoolOptions,
  type RemoveOptions,
} from './options.js';
export {
  DEFAULT_BASE_EJECTION_MS,
  DEFAULT_CONSECUTIVE_FAILURES,
  DEFAULT_LATENCY_MIN_SAMPLES,
  DEFAULT_LATENCY_WINDOW_MS,
  DEFAULT_MAX_EJECTION_MS,
  DEFAULT_MAX_EJECTION_PERCENT,
  type OutlierDetectionOptions,
} from './outlier.js';
export { Pool } from './pool.js';
export { SLOW_START_MIN_SHARE } from './slow-start.js';
export type {
  AcquireOptions,
  EndpointInput,
  EndpointSnapshot,
  EndpointState,
  LatencyHistogram,
  Lease,
  MembershipChangeEvent,
  PoolEndpoint,
  PoolLike,
  PoolSnapshot,
  ReleaseOutcome,
  SetHealthOptions,
  StateChangeEvent,
} from './types.js';
