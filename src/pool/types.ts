import type { Disposable } from '../events.js';
import type { PickContext, SelectorEndpoint } from '../selectors/selector.js';

/**
 * An endpoint's state:
 * - `healthy`: eligible for new requests;
 * - `unhealthy`: failed active health checks (HealthMonitor) — out until it passes again;
 * - `ejected`: taken out by passive outlier detection (or a `Retry-After`) for a time;
 * - `draining`: takes no new requests; its in-flight work finishes. Removed once idle when
 *   it was removed with `drain`; kept until `pool.enable()` when an operator drained it
 *   (`pool.drain()`, HAProxy's DRAIN);
 * - `disabled`: taken out by an operator (`pool.disable()`, HAProxy's MAINT): never
 *   eligible, not even in panic, and not health-checked, until `pool.enable()`.
 */
export type EndpointState = 'healthy' | 'unhealthy' | 'ejected' | 'draining' | 'disabled';

/** An endpoint as given to the pool: a URL string, or an object. */
export type EndpointInput =
  | string
  | {
      /** Stable identity. @default the normalised `url`, credentials redacted (`http://user:***@host`) */
      readonly id?: string;
      /** Where requests go, e.g. `http://127.0.0.1:8080` or `tcp://127.0.0.1:6379`. */
      readonly url: string;
      /** Relative capacity, finite and > 0. @default 1 */
      readonly weight?: number;
      /** Priority tier: 0 is the best; higher tiers serve only when better ones have none eligible. @default 0 */
      readonly priority?: number;
      /** Free-form data kept with the endpoint (zone, version, …). @default {} */
      readonly metadata?: Readonly<Record<string, unknown>>;
    };

/** An endpoint owned by a pool: what selectors read, plus its state and counters. */
export interface PoolEndpoint extends SelectorEndpoint {
  /** Stable identity. */
  readonly id: string;
  /**
   * The endpoint's URL as given, normalised by the WHATWG URL parser, with credentials
   * redacted: `http://user:secret@host` reads `http://user:***@host`, and a user without a
   * password (often a token) reads `***` (`http://***@host`). Safe to log and show.
   */
  readonly url: string;
  /**
   * The parsed URL, parsed once when the endpoint was added, credentials included: the one
   * place that keeps them, for code that connects (`pool.execute((e) => connect(e.parsedUrl))`).
   * It is an accessor, not an own enumerable property, so `JSON.stringify(endpoint)` and
   * `console.log(endpoint)` leave it out; do not log it yourself. switchyard's HTTP adapters
   * connect to its origin and do not send the credentials.
   */
  readonly parsedUrl: URL;
  /** Effective weight (configured weight scaled by slow start). */
  readonly weight: number;
  /** Configured weight. */
  readonly configuredWeight: number;
  /** Priority tier (0 best). */
  readonly priority: number;
  /** Free-form data. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Current state. */
  readonly state: EndpointState;
  /** Requests in progress. */
  readonly inflight: number;
  /** Peak-sensitive EWMA of latency in ms (0 until the first sample). */
  readonly latency: number;
}

/**
 * Options of `pool.acquire()` and `pool.tryAcquire()`: a selector's pick context (`key`,
 * `exclude`), plus `prefer`, which the pool handles before the selector is asked.
 *
 * @example
 * ```ts
 * const lease = pool.acquire({ prefer: stickyId });  // that endpoint if it is eligible
 * ```
 */
export interface AcquireOptions extends PickContext<PoolEndpoint> {
  /**
   * The id of an endpoint to use when it can serve: when it is in the eligible set (the
   * very set the selector picks from, so priority tiers and panic apply) and not in
   * `exclude`, the lease is on it and the selector is not asked (nor are its load bounds
   * consulted). Otherwise — an unknown id, an endpoint unhealthy, ejected, draining or in a
   * tier not serving, or excluded — the selector picks as if `prefer` were not given. For
   * session affinity: the proxy's `affinity: { cookie }` uses it. O(1).
   * @default undefined (the selector picks)
   */
  prefer?: string;
  /**
   * This lease is a retry: an attempt after the first for one request. The pool counts it
   * (`retries` in the snapshot, `switchyard_retries_total` on the dashboard) whoever makes
   * it — `pool.execute()` sets it, and so should any caller that retries on its own. It
   * changes nothing in the pick.
   * @default false
   */
  retry?: boolean;
}

/** How a leased call ended, given to `lease.release()`. */
export interface ReleaseOutcome {
  /** True when the call succeeded. Failures count towards outlier detection. */
  readonly ok: boolean;
  /** The failure, when `ok` is false. */
  readonly error?: unknown;
  /**
   * The endpoint asked not to be used for this long (an HTTP `Retry-After` on 503/429):
   * it is ejected for that time, capped by the pool.
   */
  readonly retryAfterMs?: number;
  /**
   * Leave latency out of the EWMA (an aborted or streamed call whose duration says nothing
   * about the endpoint). Wins over `latencyMs`. @default false
   */
  readonly skipLatency?: boolean;
  /**
   * The latency sample to record, measured by the caller, in ms: a finite number ≥ 0. Use
   * it when the whole call is the wrong measure — the HTTP proxy gives the time to response
   * headers, so a long download or an event stream does not make an endpoint look slow.
   * `lease.elapsedMs()` measures on the pool's clock. A successful release with
   * `latencyMs` does not read the clock.
   * @default undefined (the pool measures from acquire to release)
   * @throws RangeError from `release()` (TypeError when not a number) for a value that is
   *   not a finite number ≥ 0; the lease is then left unreleased.
   */
  readonly latencyMs?: number;
}

/** A claim on an endpoint for one call: in-flight until released. */
export interface Lease {
  /** The chosen endpoint. */
  readonly endpoint: PoolEndpoint;
  /** When the lease was acquired, on the pool's clock (its `now` option). */
  readonly startedAt: number;
  /**
   * Milliseconds since the lease was acquired, on the pool's clock: one clock read. For a
   * caller that reports its own latency sample (`release({ ok, latencyMs })`) taken at a
   * moment other than the end of the call.
   * @example
   * ```ts
   * const latencyMs = lease.elapsedMs(); // at response headers
   * ```
   */
  elapsedMs(): number;
  /**
   * Ends the call: decrements in-flight, records latency (measured since acquire, or the
   * caller's `latencyMs`) and the outcome. Idempotent: only the first call counts.
   * @default outcome `{ ok: true }`
   * @throws TypeError or RangeError when `outcome.latencyMs` is given but not a finite
   *   number ≥ 0 (the lease stays unreleased).
   */
  release(outcome?: ReleaseOutcome): void;
}

/** One endpoint's state change. Every change is exactly one event. */
export interface StateChangeEvent {
  /** The endpoint after the change. */
  readonly endpoint: PoolEndpoint;
  /** State before; `undefined` when the endpoint was just added. */
  readonly from: EndpointState | undefined;
  /** State after; `undefined` when the endpoint was removed. */
  readonly to: EndpointState | undefined;
  /** Why: `added`, `removed`, `health-check`, `consecutive-failures`, `latency`, `ejection-expired`, `retry-after`, `drain`, `disable`, `enable`, `admin`, … */
  readonly reason: string;
}

/** Membership change of a pool: endpoints added or removed (by `add`, `remove`, `setEndpoints`). */
export interface MembershipChangeEvent {
  /** Endpoints that joined. */
  readonly added: readonly PoolEndpoint[];
  /** Endpoints that left (after draining, when drained). */
  readonly removed: readonly PoolEndpoint[];
}

/**
 * The pool contract: everything `HealthMonitor`, the HTTP proxy
 * (`createProxyHandler`), the balanced dispatcher (`createBalancedDispatcher`,
 * `balancedInterceptor`) and the other adapters need of a pool. switchyard's `Pool`
 * implements it; a pool of your own (a test double, a pool over another registry) that
 * implements it can be used wherever a `Pool` is taken. The adapters check it once, when
 * they are given the pool, with `assertPool`.
 *
 * The adapters rely on these semantics of `Pool`:
 * - `acquire` throws `NoEndpointError` when no endpoint is eligible and `PoolClosedError`
 *   once `closed`; `tryAcquire` returns `undefined` in both cases;
 * - `acquire({ prefer })` takes the preferred endpoint whenever it is eligible (cookie
 *   affinity), and `exclude` is honoured (failover goes to endpoints not tried yet);
 * - `onMembershipChange` reports every endpoint added or removed, so adapters can open
 *   and close their connections with it.
 *
 * @example
 * ```ts
 * import { HealthMonitor, Pool, type PoolLike } from 'switchyard';
 * const pool: PoolLike = new Pool({ endpoints: ['http://127.0.0.1:8081'] });
 * const monitor = new HealthMonitor(pool);
 * ```
 */
export interface PoolLike {
  /** Every endpoint, whatever its state. */
  readonly endpoints: readonly PoolEndpoint[];
  /** True once the pool is closed: no more leases. */
  readonly closed: boolean;
  /**
   * Claims an endpoint (`options.prefer` when it is eligible), in flight until the lease is
   * released.
   * @throws NoEndpointError (`ERR_NO_ENDPOINT`) when none is eligible, PoolClosedError
   *   (`ERR_POOL_CLOSED`) once closed.
   */
  acquire(options?: AcquireOptions): Lease;
  /** As {@link PoolLike.acquire}, but returns `undefined` rather than throwing when no endpoint is eligible or the pool is closed. */
  tryAcquire(options?: AcquireOptions): Lease | undefined;
  /** Subscribes to membership changes (endpoints added and removed); returns a disposable. */
  onMembershipChange(listener: (event: MembershipChangeEvent) => void): Disposable;
  /** Subscribes to endpoint state changes; returns a disposable. */
  onStateChange(listener: (event: StateChangeEvent) => void): Disposable;
  /** Records an active health check's verdict for endpoint `id` (`HealthMonitor` calls it). */
  setHealth(id: string, healthy: boolean, reason?: string, options?: SetHealthOptions): void;
}

/** Options of `pool.setHealth()`. */
export interface SetHealthOptions {
  /**
   * With `healthy: true`, also end an outlier ejection in force (consecutive failures or
   * latency; a `Retry-After` ejection is kept), as Envoy's
   * `successful_active_health_check_uneject_host`: one state change, reason as given.
   * @default false
   */
  readonly endEjection?: boolean;
}

/** One endpoint in a {@link PoolSnapshot}: plain JSON. */
export interface EndpointSnapshot {
  /** Stable identity. */
  readonly id: string;
  /** The normalised URL, credentials redacted (as {@link PoolEndpoint.url}). */
  readonly url: string;
  /** Effective weight (configured weight scaled by slow start). */
  readonly weight: number;
  /** Configured weight. */
  readonly configuredWeight: number;
  /** Priority tier (0 best). */
  readonly priority: number;
  /** Free-form data, as given. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Current state. */
  readonly state: EndpointState;
  /** True when it serves new requests now (in the eligible set). */
  readonly eligible: boolean;
  /** Result of active health checks: false after a failing check, until one passes. */
  readonly healthy: boolean;
  /** Requests in progress. */
  readonly inflight: number;
  /** Peak-sensitive EWMA of latency in ms (0 when unknown). */
  readonly latency: number;
  /** Leases handed out. */
  readonly requests: number;
  /** Leases released with `ok: true`. */
  readonly successes: number;
  /** Leases released with `ok: false`. */
  readonly failures: number;
  /** Leases acquired as a retry (`acquire({ retry: true })`). */
  readonly retries: number;
  /**
   * Completed leases per second over the last 10 complete seconds (fewer while the
   * endpoint is younger than that).
   */
  readonly rate: number;
  /** Share of the completed leases of the same window that failed, 0–1 (0 when none). */
  readonly errorRate: number;
  /**
   * Latency percentiles in ms over the last minute (60 to 65 s, in 5-s steps), from a
   * histogram of fixed log-spaced buckets (at most a third apart, interpolated inside),
   * failures included; `null` when no latency was recorded in that window.
   */
  readonly latencyMs: {
    /** Median, ms. */
    readonly p50: number | null;
    /** 90th percentile, ms. */
    readonly p90: number | null;
    /** 99th percentile, ms. */
    readonly p99: number | null;
  };
  /** Failures in a row (reset by a success and by an ejection). */
  readonly consecutiveFailures: number;
  /** Times ejected (outlier detection, latency, `Retry-After`). */
  readonly ejections: number;
  /** Current ejection back-off multiplier (after decay). */
  readonly ejectionMultiplier: number;
  /** End of the current ejection on the pool's clock, or `null` when not ejected. */
  readonly ejectedUntil: number | null;
  /** Share of its weight the endpoint gets while slow start ramps (1 when not ramping). */
  readonly slowStart: number;
}

/** A pool's state as plain JSON (`JSON.stringify` round-trips it): `pool.snapshot()`. */
export interface PoolSnapshot {
  /** When it was taken, on the pool's clock (`now()`). */
  readonly at: number;
  /** True after `close()`. */
  readonly closed: boolean;
  /** Priority tier currently serving, or `null` when none. */
  readonly tier: number | null;
  /** True when the serving tier is in panic (every endpoint of it eligible). */
  readonly panic: boolean;
  /** Pool totals. */
  readonly totals: {
    /** Endpoints in the pool, draining ones included. */
    readonly endpoints: number;
    /** Endpoints in the eligible set. */
    readonly eligible: number;
    /** Endpoints in state `healthy`. */
    readonly healthy: number;
    /** Endpoints in state `unhealthy`. */
    readonly unhealthy: number;
    /** Endpoints in state `ejected`. */
    readonly ejected: number;
    /** Endpoints in state `draining`. */
    readonly draining: number;
    /** Endpoints in state `disabled`. */
    readonly disabled: number;
    /** Leases not yet released, including those on endpoints already removed. */
    readonly inflight: number;
    /** Leases handed out since the pool was created. */
    readonly requests: number;
    /** Leases released with `ok: true`. */
    readonly successes: number;
    /** Leases released with `ok: false`. */
    readonly failures: number;
    /** Leases acquired as a retry. */
    readonly retries: number;
    /** Ejections since the pool was created. */
    readonly ejections: number;
    /** Sum of the endpoints' `rate`: completed leases per second over the last 10 s. */
    readonly rate: number;
  };
  /** Every endpoint, whatever its state, in the order they joined. */
  readonly endpoints: readonly EndpointSnapshot[];
}

/**
 * An endpoint's latency histogram since it joined, as `pool.latencyHistogram(id)` returns
 * it: the shape of a Prometheus histogram.
 */
export interface LatencyHistogram {
  /** Upper bounds of the buckets, in ms, ascending (`LATENCY_HISTOGRAM_BOUNDS_MS`). */
  readonly boundsMs: readonly number[];
  /**
   * Cumulative counts: `counts[i]` samples were ≤ `boundsMs[i]`; one more entry at the end
   * (the +∞ bucket) counts every sample.
   */
  readonly counts: readonly number[];
  /** Sum of the samples, in ms. */
  readonly sumMs: number;
  /** Number of samples. */
  readonly count: number;
}
