import type { Ejections } from './ejections.js';
import type { EndpointRecord } from './endpoint.js';
import { emptyFigures } from './endpoint-stats.js';
import type { EndpointSnapshot, PoolSnapshot } from './types.js';

/** What a snapshot reads of the pool besides its endpoints. @internal */
export interface PoolFacts {
  readonly closed: boolean;
  /** The serving tier, −1 when none. */
  readonly tier: number;
  readonly panic: boolean;
  readonly eligible: number;
  readonly inflight: number;
  readonly requests: number;
  readonly successes: number;
  readonly failures: number;
  readonly retries: number;
}

/**
 * The pool's state at `t` as plain JSON (see {@link PoolSnapshot}).
 * @internal
 */
export function takeSnapshot(
  records: Iterable<EndpointRecord>,
  t: number,
  ejections: Ejections,
  scratch: Float64Array,
  pool: PoolFacts,
): PoolSnapshot {
  const endpoints: EndpointSnapshot[] = [];
  let healthy = 0;
  let unhealthy = 0;
  let ejected = 0;
  let draining = 0;
  let disabled = 0;
  let rate = 0;
  for (const r of records) {
    if (r.state === 'healthy') healthy++;
    else if (r.state === 'unhealthy') unhealthy++;
    else if (r.state === 'ejected') ejected++;
    else if (r.state === 'draining') draining++;
    else disabled++;
    const figures = r.stats?.figures(t, scratch) ?? emptyFigures();
    rate += figures.rate;
    endpoints.push({
      id: r.id,
      url: r.url,
      weight: r.weight,
      configuredWeight: r.configuredWeight,
      priority: r.priority,
      metadata: { ...r.metadata },
      state: r.state,
      eligible: r.eligible,
      healthy: !r.unhealthy,
      inflight: r.inflight,
      latency: r.latency,
      requests: r.requests,
      successes: r.successes,
      failures: r.failures,
      retries: r.retries,
      rate: figures.rate,
      errorRate: figures.errorRate,
      latencyMs: { p50: figures.p50, p90: figures.p90, p99: figures.p99 },
      consecutiveFailures: r.consecutiveFailures,
      ejections: r.ejections,
      ejectionMultiplier: ejections.multiplier(r, t),
      ejectedUntil: r.ejectedUntil > t ? r.ejectedUntil : null,
      slowStart: r.configuredWeight === 0 ? 1 : r.weight / r.configuredWeight,
    });
  }
  return {
    at: t,
    closed: pool.closed,
    tier: pool.tier < 0 ? null : pool.tier,
    panic: pool.panic,
    totals: {
      endpoints: endpoints.length,
      eligible: pool.eligible,
      healthy,
      unhealthy,
      ejected,
      draining,
      disabled,
      inflight: pool.inflight,
      requests: pool.requests,
      successes: pool.successes,
      failures: pool.failures,
      retries: pool.retries,
      ejections: ejections.total,
      rate,
    },
    endpoints,
  };
}
