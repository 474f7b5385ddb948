import { NoEndpointError, PoolClosedError } from '../errors.js';
import type { Disposable } from '../events.js';
import { PowerOfTwoChoices } from '../selectors/power-of-two-choices.js';
import type { Selector } from '../selectors/selector.js';
import { checkBoolean, checkOptions, checkString, quote } from '../validate.js';
import { Alarm } from './alarm.js';
import { Ejections } from './ejections.js';
import { computeEligibility, explainNoEndpoint } from './eligibility.js';
import {
  checkWeight,
  EndpointRecord,
  type EndpointSpec,
  resolveEndpointInput,
  resolveEndpointInputs,
} from './endpoint.js';
import { emptyHistogram, FigureTable } from './endpoint-stats.js';
import { execute } from './execute.js';
import type { ExecuteContext, ExecuteOptions } from './execute-options.js';
import { LATENCY_HISTOGRAM_BOUNDS_MS } from './latency-buckets.js';
import { type LeaseOwner, PoolLease } from './lease.js';
import {
  checkSelector,
  type PoolOptions,
  type RemoveOptions,
  resolveDrain,
  resolvePoolOptions,
} from './options.js';
import { resolveOutlierDetection } from './outlier.js';
import { PoolEvents } from './pool-events.js';
import { SlowStart } from './slow-start.js';
import { takeSnapshot } from './snapshot.js';
import type {
  AcquireOptions,
  EndpointInput,
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

const NEVER = Number.POSITIVE_INFINITY;
const NOT_SINCE = Number.NEGATIVE_INFINITY;

/**
 * The state table of a load balancer: which endpoints are in, how much each carries, which
 * are out and when they come back. Hands out leases on endpoints picked by a selector, and
 * learns from how each lease ends.
 *
 * - **States**: `healthy`; `unhealthy` (failed active health checks, via `setHealth`);
 *   `ejected` (outlier detection or `Retry-After`, timed); `draining` (leaving once idle, or
 *   drained by an operator with {@link Pool.drain}); `disabled` (an operator's
 *   {@link Pool.disable}). Each endpoint keeps these facts separately and shows one derived
 *   state, by precedence `draining` (leaving) > `disabled` > `draining` (operator) >
 *   `unhealthy` > `ejected` > `healthy`; every change of it is one `onStateChange` event
 *   with a reason.
 * - **Figures**: each completed lease is counted, with its latency, into per-endpoint
 *   windows (request and error rates over 10 s, latency percentiles over the last minute)
 *   and a cumulative histogram ({@link Pool.latencyHistogram}); retries are counted when
 *   acquired with `retry: true`. No timer: the windows advance on use.
 * - **Eligible set**: the healthy endpoints of the best priority tier that has any, with
 *   Envoy's panic threshold (see {@link PoolOptions.panicThreshold}). It is recomputed, and
 *   the selector updated, only when a state, the membership or a weight changes.
 * - **Time**: ejections end by themselves. Expiry is checked lazily on acquire (one
 *   comparison) and by at most one unref'd timer, so events are prompt without a timer per
 *   endpoint.
 *
 * @example
 * ```ts
 * const pool = new Pool({ endpoints: ['http://127.0.0.1:8081', 'http://127.0.0.1:8082'] });
 * const lease = pool.acquire();
 * try {
 *   await call(lease.endpoint.url);
 *   lease.release({ ok: true });
 * } catch (error) {
 *   lease.release({ ok: false, error });
 * }
 * ```
 */
export class Pool implements PoolLike {
  readonly #selector: Selector<PoolEndpoint>;
  readonly #panicThreshold: number;
  readonly #latencyDecayMs: number;
  /** Time constant of the plain latency EWMA that latency ejection judges; 0 when off. */
  readonly #latencyMeanMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #ejections: Ejections;
  readonly #slowStart: SlowStart;
  /** One unref'd timer for the earliest ejection expiry, so its event is prompt. */
  readonly #alarm: Alarm;
  readonly #events = new PoolEvents();

  readonly #byId = new Map<string, EndpointRecord>();
  #list: readonly EndpointRecord[] | undefined = Object.freeze([]);
  #draining = 0;
  #eligible: EndpointRecord[] = [];
  #tier = -1;
  #panic = false;
  #dirty = false;
  /** The earliest time-driven work (expiry, ramp step, latency check): all the hot path reads. */
  #nextCheckAt = NEVER;

  #inflight = 0;
  #requests = 0;
  #successes = 0;
  #failures = 0;
  #retries = 0;
  #closed = false;
  /** What releases record into: the current latency slot of every endpoint. */
  readonly #figures = new FigureTable();
  /** Reused by snapshots to sum latency windows. */
  readonly #scratch = new Float64Array(64);
  readonly #owner: LeaseOwner = {
    release: (record, startedAt, outcome) => this.#release(record, startedAt, outcome),
    now: () => this.#now(),
  };

  /**
   * @param options - see {@link PoolOptions}
   * @throws TypeError for an unknown option, an option of the wrong type, a URL that does
   *   not parse (quoting its text) or an unknown endpoint key; RangeError for a value out
   *   of range (a weight of 0, NaN, −1 or Infinity; a duplicate id; …). The message names
   *   the option and quotes the value.
   */
  constructor(options?: PoolOptions) {
    const o = resolvePoolOptions(options);
    const outlier = resolveOutlierDetection(o.outlierDetection);
    this.#selector =
      o.selector === undefined ? new PowerOfTwoChoices<PoolEndpoint>() : checkSelector(o.selector);
    this.#panicThreshold = o.panicThreshold;
    this.#latencyDecayMs = o.latencyDecayMs;
    this.#now = o.now;
    this.#random = o.random;
    this.#slowStart = new SlowStart(o.slowStartMs);
    for (const spec of resolveEndpointInputs(o.endpoints)) {
      const record = new EndpointRecord(spec);
      this.#byId.set(record.id, record);
    }
    this.#list = undefined;
    this.#ejections = new Ejections(
      outlier,
      o.maxRetryAfterMs,
      (record, reason, t) => this.#updateState(record, reason, t),
      this.#now(),
    );
    this.#latencyMeanMs = this.#ejections.latencyMeanMs;
    this.#alarm = new Alarm(() => this.#wake(), this.#now);
    this.#recheck();
    this.#rebuild();
  }

  // ---- hot path ----------------------------------------------------------------------

  /**
   * Picks an endpoint and claims it for one call: in-flight goes up until the lease is
   * released. The hot path: one clock read, one selector pick, one small lease object.
   * @param options - `key` for hashing selectors; `exclude` ids already tried; `prefer` an
   *   endpoint to take when it is eligible and not excluded (then the selector is not
   *   asked); `retry` when this lease is a retry of a request (counted as such).
   * @throws NoEndpointError (`ERR_NO_ENDPOINT`) when no endpoint is eligible (or all are
   *   excluded); PoolClosedError (`ERR_POOL_CLOSED`) after `close()`.
   * @example
   * ```ts
   * const lease = pool.acquire({ key: userId });
   * const sticky = pool.acquire({ prefer: lastEndpointId }); // the same one while it can serve
   * ```
   */
  acquire(options?: AcquireOptions): Lease {
    const lease = this.tryAcquire(options);
    if (lease !== undefined) return lease;
    if (this.#closed) throw new PoolClosedError();
    throw new NoEndpointError(
      explainNoEndpoint(this.#byId, this.#eligible.length, options?.exclude !== undefined),
    );
  }

  /**
   * Like {@link Pool.acquire} but returns `undefined` instead of throwing when no endpoint
   * is eligible or the pool is closed: for hot paths that fall back or retry.
   * @example
   * ```ts
   * const lease = pool.tryAcquire({ exclude: tried }) ?? pool.tryAcquire();
   * ```
   */
  tryAcquire(options?: AcquireOptions): Lease | undefined {
    if (this.#closed) return undefined;
    const t = this.#now();
    if (t >= this.#nextCheckAt) this.#tick(t);
    let record: EndpointRecord | undefined;
    const prefer = options?.prefer;
    if (prefer !== undefined) {
      // `eligible` is kept by #rebuild for exactly the set the selector was given.
      const preferred = this.#byId.get(prefer);
      if (preferred?.eligible === true && options!.exclude?.has(prefer) !== true) {
        record = preferred;
      }
    }
    record ??= this.#selector.pick(options) as EndpointRecord | undefined;
    if (record === undefined) return undefined;
    record.inflight++;
    record.requests++;
    this.#inflight++;
    this.#requests++;
    if (options?.retry === true) {
      record.retries++;
      this.#retries++;
    }
    return new PoolLease(this.#owner, record, t);
  }

  #release(record: EndpointRecord, startedAt: number, outcome: ReleaseOutcome | undefined): void {
    if (outcome !== undefined) {
      const latencyMs = outcome.latencyMs;
      if (latencyMs !== undefined && outcome.ok && (outcome.retryAfterMs ?? 0) <= 0) {
        // A success with the caller's sample changes no state, so it reads no clock:
        // time-driven work waits for the next acquire, which reads it anyway. The sample is
        // placed when it was taken (`startedAt + latencyMs` on the pool's clock, via
        // `lease.elapsedMs()`).
        record.inflight--;
        this.#inflight--;
        const at = startedAt + latencyMs;
        if (outcome.skipLatency !== true) {
          record.observeLatency(latencyMs, at, this.#latencyDecayMs, this.#latencyMeanMs);
          this.#figures.record(record, at, latencyMs);
        } else {
          this.#figures.record(record, at, -1);
        }
        this.#succeeded(record);
        this.#afterRelease(record);
        return;
      }
    }
    const t = this.#now();
    // Expiries first, so an outcome is judged against the current state.
    if (t >= this.#nextCheckAt) this.#due(t);
    record.inflight--;
    this.#inflight--;
    const ok = outcome === undefined || outcome.ok;
    let sample = -1;
    if (outcome?.skipLatency !== true) {
      sample = outcome?.latencyMs ?? t - startedAt;
      record.observeLatency(sample, t, this.#latencyDecayMs, this.#latencyMeanMs);
    }
    this.#figures.record(record, t, sample);
    if (ok) {
      this.#succeeded(record);
    } else {
      record.failures++;
      this.#failures++;
      if (++record.consecutiveFailures >= this.#ejections.consecutiveFailures) {
        this.#ejections.failed(record, t, this.#members());
        this.#recheck();
      }
    }
    const retryAfterMs = outcome?.retryAfterMs;
    if (retryAfterMs !== undefined && retryAfterMs > 0) {
      this.#ejections.retryAfter(record, retryAfterMs, t, this.#members());
      this.#recheck();
    }
    this.#afterRelease(record);
  }

  #succeeded(record: EndpointRecord): void {
    record.successes++;
    this.#successes++;
    record.consecutiveFailures = 0;
  }

  /**
   * A drained endpoint leaves with its last lease (the ejection cap is unaffected: draining
   * endpoints already do not count); then the pool settles if anything changed.
   */
  #afterRelease(record: EndpointRecord): void {
    if (record.leaving && record.inflight === 0 && !record.removed) {
      this.#removeRecord(record, 'drained');
    }
    if (this.#dirty || this.#events.pending) this.#settle();
  }

  // ---- membership --------------------------------------------------------------------

  /**
   * Adds an endpoint. Adding the id of an endpoint draining out of the pool (removed with
   * `drain`) cancels the removal and applies the new weight, priority and metadata; an
   * operator's {@link Pool.drain} or {@link Pool.disable} stays in force.
   * @returns the endpoint.
   * @throws TypeError or RangeError for a bad input (see the constructor); RangeError for
   *   an id already in the pool; PoolClosedError after `close()`.
   * @example
   * ```ts
   * pool.add({ url: 'http://127.0.0.1:8083', weight: 2 });
   * ```
   */
  add(input: EndpointInput): PoolEndpoint {
    this.#assertOpen();
    const spec = resolveEndpointInput(input, 'endpoint');
    const existing = this.#byId.get(spec.id);
    if (existing !== undefined && !existing.leaving) {
      throw new RangeError(`duplicate endpoint id ${quote(spec.id)}`);
    }
    const t = this.#advance();
    const record =
      existing === undefined ? this.#insert(spec, t) : this.#undrain(existing, spec, t);
    this.#settle();
    return record;
  }

  /**
   * Removes an endpoint, at once or (with `drain`) once its in-flight work ends. An
   * endpoint with nothing in flight leaves at once either way. Unknown ids are ignored:
   * membership may change under the caller (discovery, health checks finishing late).
   * @returns true when the id was in the pool.
   * @throws TypeError for bad options.
   * @example
   * ```ts
   * pool.remove('http://127.0.0.1:8083', { drain: true });
   * ```
   */
  remove(id: string, options?: RemoveOptions): boolean {
    const drain = resolveDrain('remove', options);
    const record = this.#byId.get(id);
    if (record === undefined) return false;
    const t = this.#advance();
    this.#retire(record, drain, t);
    this.#ejections.cap(t, this.#members());
    this.#settle();
    return true;
  }

  /**
   * Replaces the membership, diffing by id: new ids join; ids that stay keep their
   * counters, latency and state, and take the new url, weight, priority and metadata (one
   * draining out of the pool stays; an operator's drain or disable stays in force); missing
   * ids leave (or drain, with `drain`). Emits one
   * membership event for the whole change. The inputs are all validated before anything
   * changes.
   * @throws TypeError or RangeError for a bad input or a duplicate id (nothing changes
   *   then); PoolClosedError after `close()`.
   * @example
   * ```ts
   * pool.setEndpoints(await discover(), { drain: true });
   * ```
   */
  setEndpoints(inputs: readonly EndpointInput[], options?: RemoveOptions): void {
    this.#assertOpen();
    const drain = resolveDrain('setEndpoints', options);
    if (!Array.isArray(inputs)) {
      throw new TypeError(`setEndpoints() expects an array of endpoints, got ${quote(inputs)}`);
    }
    const specs = resolveEndpointInputs(inputs);
    const keep = new Set<string>();
    for (const spec of specs) keep.add(spec.id);
    const t = this.#advance();
    for (const record of [...this.#byId.values()]) {
      if (!keep.has(record.id)) this.#retire(record, drain, t);
    }
    for (const spec of specs) {
      const record = this.#byId.get(spec.id);
      if (record === undefined) this.#insert(spec, t);
      else if (record.leaving) this.#undrain(record, spec, t);
      else this.#assign(record, spec, t);
    }
    // Against the new membership as a whole: halfway through, it may look smaller than it is.
    this.#ejections.cap(t, this.#members());
    this.#settle();
  }

  /**
   * Changes an endpoint's configured weight (slow start still scales it while ramping).
   * @returns true when the id was in the pool.
   * @throws TypeError or RangeError for a weight that is not a finite number > 0;
   *   PoolClosedError after `close()`.
   * @example
   * ```ts
   * pool.setWeight('http://127.0.0.1:8081', 3);
   * ```
   */
  setWeight(id: string, weight: number): boolean {
    this.#assertOpen();
    checkWeight(weight, `endpoint ${quote(id)}`);
    const record = this.#byId.get(id);
    if (record === undefined) return false;
    const t = this.#advance();
    record.configuredWeight = weight;
    this.#applyWeight(record, t);
    this.#settle();
    return true;
  }

  /**
   * Records the result of active health checks (the `HealthMonitor` calls this). An
   * unhealthy endpoint takes no traffic (unless its tier is in panic) until it is set
   * healthy again. Unknown ids are ignored, since a check may finish after its endpoint
   * left; so is every call after `close()`.
   * @param reason - the event's reason. @default 'health-check'
   * @param options - `endEjection: true` also ends an outlier ejection (see {@link SetHealthOptions})
   * @throws TypeError when `healthy` is not a boolean, `reason` not a non-empty string or
   *   `options` not `{ endEjection?: boolean }`.
   * @example
   * ```ts
   * pool.setHealth(endpoint.id, false, 'admin');
   * pool.setHealth(endpoint.id, true, 'health-check', { endEjection: true });
   * ```
   */
  setHealth(
    id: string,
    healthy: boolean,
    reason = 'health-check',
    options?: SetHealthOptions,
  ): void {
    checkBoolean('healthy', healthy);
    checkString('reason', reason);
    const endEjection =
      options !== undefined &&
      checkBoolean(
        'endEjection',
        checkOptions('setHealth', options, ['endEjection']).endEjection ?? false,
      );
    const record = this.#byId.get(id);
    if (record === undefined || this.#closed) return;
    const t = this.#advance();
    record.unhealthy = !healthy;
    if (healthy && endEjection) this.#ejections.lift(record, t);
    this.#updateState(record, reason, t);
    this.#settle();
  }

  /**
   * Drains an endpoint for an operator, as HAProxy's DRAIN: it takes no new requests, its
   * in-flight ones finish, and it stays in the pool, listed as `draining`, until
   * {@link Pool.enable} (unlike `remove(id, { drain: true })`, which removes it once idle).
   * Health checks pause and outlier detection ignores it meanwhile. Undoes a `disable`.
   * @param reason - the event's reason. @default 'drain'
   * @returns true when the id was in the pool.
   * @throws TypeError when `reason` is not a non-empty string; PoolClosedError after
   *   `close()`.
   * @example
   * ```ts
   * pool.drain('http://127.0.0.1:8081'); // deploy it, then
   * pool.enable('http://127.0.0.1:8081');
   * ```
   */
  drain(id: string, reason = 'drain'): boolean {
    return this.#operate(id, true, false, reason);
  }

  /**
   * Disables an endpoint for an operator, as HAProxy's MAINT: state `disabled`, never
   * eligible (not even in panic), health checks paused, outlier detection ignores it, until
   * {@link Pool.enable}. Leases already out still release normally. Undoes a `drain`.
   * @param reason - the event's reason. @default 'disable'
   * @returns true when the id was in the pool.
   * @throws TypeError when `reason` is not a non-empty string; PoolClosedError after
   *   `close()`.
   * @example
   * ```ts
   * pool.disable('http://127.0.0.1:8081');
   * ```
   */
  disable(id: string, reason = 'disable'): boolean {
    return this.#operate(id, false, true, reason);
  }

  /**
   * Undoes an operator's {@link Pool.drain} or {@link Pool.disable}: the endpoint takes its
   * state from the other facts again (`healthy`, or `unhealthy` while its health flag is
   * down; health checks resume). Coming back from `disabled`, it ramps up as after an
   * ejection (slow start) with its latency forgotten. An endpoint removed with `drain`
   * keeps leaving. Enabling an enabled endpoint changes nothing and emits no event.
   * @param reason - the event's reason. @default 'enable'
   * @returns true when the id was in the pool.
   * @throws TypeError when `reason` is not a non-empty string; PoolClosedError after
   *   `close()`.
   * @example
   * ```ts
   * pool.enable('http://127.0.0.1:8081');
   * ```
   */
  enable(id: string, reason = 'enable'): boolean {
    return this.#operate(id, false, false, reason);
  }

  // ---- reading -----------------------------------------------------------------------

  /** Every endpoint, whatever its state (draining ones included), in the order they joined. */
  get endpoints(): readonly PoolEndpoint[] {
    this.#refresh();
    if (this.#list === undefined) this.#list = Object.freeze([...this.#byId.values()]);
    return this.#list;
  }

  /** True after {@link Pool.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The endpoint with this id, or `undefined`.
   * @example
   * ```ts
   * pool.get('http://127.0.0.1:8081')?.state;
   * ```
   */
  get(id: string): PoolEndpoint | undefined {
    this.#refresh();
    return this.#byId.get(id);
  }

  /**
   * The pool's state as plain JSON: every endpoint with its state, weights, in-flight,
   * latency and counters, and pool totals. For dashboards and metrics.
   * @example
   * ```ts
   * console.log(JSON.stringify(pool.snapshot(), null, 2));
   * ```
   */
  snapshot(): PoolSnapshot {
    const t = this.#refresh();
    return takeSnapshot(this.#byId.values(), t, this.#ejections, this.#scratch, {
      closed: this.#closed,
      tier: this.#tier,
      panic: this.#panic,
      eligible: this.#eligible.length,
      inflight: this.#inflight,
      requests: this.#requests,
      successes: this.#successes,
      failures: this.#failures,
      retries: this.#retries,
    });
  }

  /**
   * The latency histogram of an endpoint since it joined: cumulative counts of completed
   * leases whose latency was at most each of {@link LATENCY_HISTOGRAM_BOUNDS_MS} (the last
   * count is every sample), their sum and count. What the dashboard exposes as the
   * Prometheus histogram `switchyard_request_duration_seconds`. Leases released with
   * `skipLatency` are not in it. `undefined` for an unknown id.
   * @example
   * ```ts
   * const h = pool.latencyHistogram(id);
   * const under100ms = h && h.counts[h.boundsMs.indexOf(100)]! / h.count;
   * ```
   */
  latencyHistogram(id: string): LatencyHistogram | undefined {
    const record = this.#byId.get(id);
    if (record === undefined) return undefined;
    const figures = record.stats?.histogram() ?? emptyHistogram();
    return { boundsMs: LATENCY_HISTOGRAM_BOUNDS_MS, ...figures };
  }

  // ---- events and lifecycle ----------------------------------------------------------

  /**
   * Subscribes to state changes: one event per change of an endpoint's derived state,
   * with a reason (`added`, `removed`, `drained`, `drain`, `drain-cancelled`,
   * `health-check`, `consecutive-failures`, `latency`, `retry-after`, `ejection-expired`,
   * `ejection-cap`, `disable`, `enable`, or the reason given to `setHealth`, `drain`,
   * `disable` or `enable`). Listeners run synchronously after the pool has updated its
   * eligible set.
   * @returns a disposable that unsubscribes.
   * @example
   * ```ts
   * using sub = pool.onStateChange(({ endpoint, from, to, reason }) => log(endpoint.id, from, to, reason));
   * ```
   */
  onStateChange(listener: (event: StateChangeEvent) => void): Disposable {
    return this.#events.onStateChange(listener);
  }

  /**
   * Subscribes to membership changes: endpoints added, and endpoints removed (draining
   * ones once drained). One event per `add`, `remove` or `setEndpoints`, after the state
   * events of the same change.
   * @returns a disposable that unsubscribes.
   * @example
   * ```ts
   * pool.onMembershipChange(({ added, removed }) => monitor.sync(added, removed));
   * ```
   */
  onMembershipChange(listener: (event: MembershipChangeEvent) => void): Disposable {
    return this.#events.onMembershipChange(listener);
  }

  /**
   * Failover for any protocol: calls `fn` with an endpoint and, when it fails, again on an
   * endpoint not tried yet (repeats only once every eligible one was tried), with
   * full-jitter backoff between attempts, until it succeeds or `attempts` run out. Each
   * attempt gets its own `AbortSignal` (aborted at `perAttemptTimeoutMs`, at `deadlineMs`
   * or when the caller's `signal` aborts) and its outcome is released into the pool, so
   * outlier detection learns from it.
   *
   * How it ends:
   * - `fn` succeeds: its value.
   * - `retryOn(error)` returns false: that error, unwrapped.
   * - Every attempt failed: `AttemptsExhaustedError` (`ERR_ATTEMPTS_EXHAUSTED`), `cause`
   *   the last error, `errors` all of them; also when the pool runs out of eligible
   *   endpoints after at least one attempt.
   * - No eligible endpoint for the first attempt: `NoEndpointError` (`ERR_NO_ENDPOINT`).
   * - The deadline passed: `TimeoutError` (`ERR_TIMEOUT`), `cause` the last error.
   * - The caller's signal aborted: its reason (as `fetch`), not counted as a failure.
   * - The pool is closed: `PoolClosedError` (`ERR_POOL_CLOSED`).
   *
   * `fn` should honour its signal; when it does not, `execute` still moves on when the
   * signal aborts, leaving `fn`'s promise to settle unobserved.
   * @throws TypeError or RangeError for bad options, synchronously.
   * @example
   * ```ts
   * const reply = await pool.execute((endpoint, { signal }) => redis(endpoint.url, 'PING', { signal }));
   * ```
   */
  execute<T>(
    fn: (endpoint: PoolEndpoint, context: ExecuteContext) => T | PromiseLike<T>,
    options?: ExecuteOptions,
  ): Promise<T> {
    return execute(this, fn, options, this.#random);
  }

  /**
   * Closes the pool: stops its timer, drops its listeners, and refuses new work (`acquire`
   * throws PoolClosedError, `tryAcquire` returns `undefined`). Leases already out can still
   * be released. Idempotent.
   * @example
   * ```ts
   * await pool.close();
   * ```
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#alarm.clear();
      this.#events.clear();
    }
    return Promise.resolve();
  }

  /** Same as {@link Pool.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- internals: membership ---------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw new PoolClosedError();
  }

  /** Endpoints that count towards the ejection cap: those not draining. */
  #members(): number {
    return this.#byId.size - this.#draining;
  }

  #insert(spec: EndpointSpec, t: number): EndpointRecord {
    const record = new EndpointRecord(spec);
    this.#byId.set(record.id, record);
    this.#list = undefined;
    this.#dirty = true;
    record.state = record.derive(t);
    this.#startRamp(record, t);
    this.#events.added(record);
    return record;
  }

  #assign(record: EndpointRecord, spec: EndpointSpec, t: number): void {
    if (record.priority !== spec.priority) this.#dirty = true;
    record.assign(spec);
    this.#applyWeight(record, t);
  }

  #undrain(record: EndpointRecord, spec: EndpointSpec, t: number): EndpointRecord {
    record.leaving = false;
    this.#assign(record, spec, t);
    this.#takesRequests(record, 'drain-cancelled', t);
    return record;
  }

  /** Removes at once, or starts a drain when asked and work is in flight. */
  #retire(record: EndpointRecord, drain: boolean, t: number): void {
    if (drain && record.inflight > 0) {
      if (record.leaving) return;
      record.leaving = true;
      this.#takesRequests(record, 'drain', t);
    } else {
      this.#removeRecord(record, 'removed');
    }
  }

  /**
   * After a change of `leaving`, `adminDrain` or `disabled`: keeps `draining` (no new
   * requests) and its count in step, ends an ejection when the endpoint goes out of service
   * (without an event of its own: the move out is the change), then updates the state.
   */
  #takesRequests(record: EndpointRecord, reason: string, t: number): void {
    const out = record.leaving || record.adminDrain || record.disabled;
    if (out !== record.draining) {
      record.draining = out;
      this.#draining += out ? 1 : -1;
      if (out) this.#ejections.cut(record, t);
    }
    this.#updateState(record, reason, t);
  }

  /** Sets an operator's mode on `id`; false for an unknown id. */
  #operate(id: string, drain: boolean, disabled: boolean, reason: string): boolean {
    this.#assertOpen();
    checkString('reason', reason);
    const record = this.#byId.get(id);
    if (record === undefined) return false;
    const t = this.#advance();
    record.adminDrain = drain;
    record.disabled = disabled;
    this.#takesRequests(record, reason, t);
    this.#ejections.cap(t, this.#members());
    this.#settle();
    return true;
  }

  #removeRecord(record: EndpointRecord, reason: string): void {
    record.removed = true;
    this.#figures.release(record);
    this.#byId.delete(record.id);
    this.#list = undefined;
    if (record.draining) this.#draining--;
    record.draining = false;
    this.#ejections.forget(record);
    this.#slowStart.stop(record);
    if (record.eligible) this.#dirty = true;
    this.#events.removed(record, reason);
  }

  // ---- internals: state and weight ---------------------------------------------------

  /** Recomputes the derived state; on a change, queues one event and marks the set dirty. */
  #updateState(record: EndpointRecord, reason: string, t: number): void {
    const from = record.state;
    const to = record.derive(t);
    if (to === from) return;
    record.state = to;
    this.#dirty = true;
    if (to === 'healthy') {
      if (from === 'unhealthy' || from === 'ejected' || from === 'disabled') {
        // Back in service: what we knew of its latency is stale, and it ramps up again.
        record.latency = 0;
        record.latencyMean = 0;
        record.latencySamples = 0;
        this.#startRamp(record, t);
      }
    } else if (from === 'healthy' && this.#slowStart.stop(record)) {
      record.weight = record.configuredWeight;
    }
    record.slowSince = NOT_SINCE;
    this.#events.changed(record, from, reason);
  }

  #startRamp(record: EndpointRecord, t: number): void {
    if (!this.#slowStart.start(record, t)) return;
    this.#applyWeight(record, t);
    this.#recheck();
  }

  /** Sets the effective weight from the configured one and slow start. */
  #applyWeight(record: EndpointRecord, t: number): void {
    const weight = this.#slowStart.weight(record, t);
    if (weight !== record.weight) {
      record.weight = weight;
      if (record.eligible) this.#dirty = true;
    }
  }

  // ---- internals: time ---------------------------------------------------------------

  /** Reads the clock and runs what it has made due, before a change; returns the time read. */
  #advance(): number {
    const t = this.#now();
    this.#due(t);
    return t;
  }

  /** Runs whatever time has made due (expiries, ramp steps, latency checks), no settling. */
  #due(t: number): void {
    if (t < this.#nextCheckAt) return;
    const ejections = this.#ejections;
    if (t >= ejections.nextExpiryAt) ejections.expire(t);
    if (t >= this.#slowStart.nextAt) {
      for (const record of this.#slowStart.ramping) this.#applyWeight(record, t);
      this.#slowStart.stepped(t);
    }
    if (t >= ejections.nextLatencyAt)
      ejections.checkLatency(this.#byId.values(), t, this.#members());
    this.#recheck();
  }

  #recheck(): void {
    const ejections = this.#ejections;
    this.#nextCheckAt = Math.min(
      ejections.nextExpiryAt,
      this.#slowStart.nextAt,
      ejections.nextLatencyAt,
    );
  }

  #tick(t: number): void {
    this.#due(t);
    this.#settle();
  }

  /** Brings time-dependent state up to date (for readers); returns the time used. */
  #refresh(): number {
    const t = this.#now();
    if (t >= this.#nextCheckAt && !this.#closed) this.#tick(t);
    return t;
  }

  /** The alarm went off: run what is due, or set it again if it rang early. */
  #wake(): void {
    if (this.#closed) return;
    const t = this.#now();
    if (t >= this.#nextCheckAt) this.#tick(t);
    else this.#alarm.set(this.#ejections.nextExpiryAt);
  }

  // ---- internals: settling -----------------------------------------------------------

  /** After a change: rebuild the eligible set if needed, set the alarm, emit events. */
  #settle(): void {
    if (this.#closed) return;
    if (this.#dirty) this.#rebuild();
    this.#alarm.set(this.#ejections.nextExpiryAt);
    this.#events.flush();
  }

  #rebuild(): void {
    this.#dirty = false;
    const { endpoints, tier, panic } = computeEligibility(
      [...this.#byId.values()],
      this.#panicThreshold,
    );
    for (const r of this.#eligible) r.eligible = false;
    for (const r of endpoints) r.eligible = true;
    this.#eligible = endpoints;
    this.#tier = tier;
    this.#panic = panic;
    this.#selector.update(endpoints);
  }
}
