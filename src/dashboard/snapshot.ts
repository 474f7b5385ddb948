import type { HealthStatus } from '../health/options.js';
import type { EndpointSnapshot, EndpointState, PoolSnapshot } from '../pool/types.js';
import type { DashboardMonitor, DashboardPool } from './options.js';

/** One endpoint in a {@link DashboardSnapshot}: the pool's figures, its share, its checks. */
export interface DashboardEndpoint extends EndpointSnapshot {
  /** Share of the pool's request rate this endpoint carried over the last 10 s, 0–1. */
  readonly share: number;
  /** What the pool's health monitor knows of it, or `null` without a monitor. */
  readonly health: HealthStatus | null;
}

/** One pool in a {@link DashboardSnapshot}. */
export interface DashboardPoolSnapshot extends Omit<PoolSnapshot, 'endpoints'> {
  /** Every endpoint, in the order they joined. */
  readonly endpoints: readonly DashboardEndpoint[];
}

/**
 * The JSON of `GET /api/snapshot` and of each `snapshot` event on `/api/events`: every
 * pool's `pool.snapshot()` (with `rate`, `errorRate` and `latencyMs` per endpoint), plus
 * each endpoint's share and health-check status.
 */
export interface DashboardSnapshot {
  /** When it was taken, in ms since the epoch (the dashboard's `now`). */
  readonly time: number;
  /** Each pool by name. */
  readonly pools: Readonly<Record<string, DashboardPoolSnapshot>>;
}

/**
 * The JSON of each `state` event on `/api/events`: one endpoint's state change, as
 * `pool.onStateChange` reported it. The event's SSE `id` is `seq`.
 */
export interface DashboardStateEvent {
  /** Increasing number of the change within this dashboard, from 1. */
  readonly seq: number;
  /** When it happened, in ms since the epoch (the dashboard's `now`). */
  readonly time: number;
  /** The pool's name. */
  readonly pool: string;
  /** The endpoint's id. */
  readonly id: string;
  /** State before, `null` when it just joined. */
  readonly from: EndpointState | null;
  /** State after, `null` when it left. */
  readonly to: EndpointState | null;
  /** Why (`health-check`, `consecutive-failures`, `drain`, `disable`, …). */
  readonly reason: string;
}

/** Takes the dashboard's snapshot of every pool. @internal */
export function takeDashboardSnapshot(
  pools: ReadonlyMap<string, DashboardPool>,
  monitors: ReadonlyMap<string, readonly DashboardMonitor[]>,
  time: number,
): DashboardSnapshot {
  const out: Record<string, DashboardPoolSnapshot> = {};
  for (const [name, pool] of pools) {
    const snapshot = pool.snapshot();
    const total = snapshot.totals.rate;
    const checkers = monitors.get(name);
    out[name] = {
      ...snapshot,
      endpoints: snapshot.endpoints.map((e) => ({
        ...e,
        url: withoutCredentials(e.url),
        share: total > 0 ? e.rate / total : 0,
        health: checkers === undefined ? null : healthOf(checkers, e.id),
      })),
    };
  }
  return { time, pools: out };
}

/** The status from the first monitor that follows `id`. @internal */
export function healthOf(monitors: readonly DashboardMonitor[], id: string): HealthStatus | null {
  for (const monitor of monitors) {
    const status = monitor.status(id);
    if (status !== undefined) return status;
  }
  return null;
}

/**
 * `url` without its user name and password, if it has any: credentials never reach the
 * page (ids are the pool's to keep clean).
 * @internal
 */
export function withoutCredentials(url: string): string {
  if (!url.includes('@')) return url;
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return url;
  }
}
