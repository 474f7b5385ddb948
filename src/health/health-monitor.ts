import { AbortedError, type SwitchyardError, TimeoutError } from '../errors.js';
import { type Disposable, EventEmitter } from '../events.js';
import type { Logger } from '../logger.js';
import { assertPool } from '../pool/assert-pool.js';
import type {
  MembershipChangeEvent,
  PoolEndpoint,
  PoolLike,
  StateChangeEvent,
} from '../pool/types.js';
import { redactCredentials } from '../validate.js';
import { Fifo } from './fifo.js';
import {
  type HealthCheckEvent,
  type HealthMonitorOptions,
  type HealthStatus,
  type ResolvedHealthOptions,
  resolveHealthOptions,
} from './options.js';
import { createProbe, type Probe, riseFall, setHealthy } from './probe.js';
import { Scheduler } from './scheduler.js';

/** The reason given to `pool.setHealth()`, and so in the pool's `onStateChange` events. */
export const HEALTH_CHECK_REASON = 'health-check';

/**
 * Checks and timeouts may run this share of the shortest period late (10 ms with the
 * defaults), so that those due close together share one timer wake-up.
 */
const TIMER_SLACK = 0.01;

const END_EJECTION = Object.freeze({ endEjection: true });

const asyncDispose: typeof Symbol.asyncDispose =
  (Symbol as { asyncDispose?: typeof Symbol.asyncDispose }).asyncDispose ??
  (Symbol.for('Symbol.asyncDispose') as typeof Symbol.asyncDispose);

/**
 * Active health checking for a pool, with HAProxy's rise/fall semantics: `unhealthyThreshold`
 * consecutive failures take an endpoint out (`pool.setHealth(id, false, 'health-check')`),
 * `healthyThreshold` consecutive passes bring it back. Endpoints start healthy. A passing
 * check also ends an outlier ejection, as Envoy does (see `unejectOnPass`).
 *
 * One scheduler (a min-heap of due times, one unref'd timer) drives every endpoint, at most
 * `concurrency` checks run at once, and a check never overlaps itself: the next check of an
 * endpoint is scheduled when the previous one ends. Endpoints added to the pool are checked
 * within `jitter × intervalMs`; removed ones are dropped, their running check aborted and its
 * result ignored. `draining` and `disabled` endpoints are not checked (no new work goes to
 * them; an operator's `disable` pauses checks, as HAProxy's MAINT). The monitor
 * stops by itself at its next check once the pool is closed.
 *
 * @example
 * ```ts
 * import { HealthMonitor, Pool } from 'switchyard';
 * import { httpCheck } from 'switchyard/http';
 *
 * const pool = new Pool({ endpoints: ['http://127.0.0.1:8081', 'http://127.0.0.1:8082'] });
 * await using monitor = new HealthMonitor(pool, {
 *   check: httpCheck({ path: '/healthz' }),
 *   intervalMs: 5_000, timeoutMs: 2_000,
 * });
 * monitor.onCheck(({ endpoint, ok, error }) => ok || console.warn(endpoint.id, error));
 * monitor.start();
 * ```
 */
export class HealthMonitor {
  readonly #pool: PoolLike;
  readonly #o: ResolvedHealthOptions;
  readonly #scheduler: Scheduler<Probe>;
  readonly #probes = new Map<string, Probe>();
  /** Probes due, waiting for a free slot (at most `concurrency` checks run at once). */
  readonly #queue = new Fifo<Probe>();
  #running = 0;
  /** Every check promise not yet settled, abandoned ones included: `stop()` awaits them. */
  readonly #inflight = new Set<Promise<void>>();
  readonly #checks = new EventEmitter<HealthCheckEvent>();
  #subscriptions: Disposable[] | undefined;
  #started = false;

  /**
   * @param pool the pool whose endpoints to check (a `Pool`, or anything `PoolLike`)
   * @param options see {@link HealthMonitorOptions}
   * @throws TypeError or RangeError for a bad option, naming it and quoting the value
   */
  constructor(pool: PoolLike, options?: HealthMonitorOptions) {
    assertPool(pool, 'HealthMonitor');
    this.#pool = pool;
    this.#o = resolveHealthOptions(options);
    const o = this.#o;
    const slack = Math.min(o.intervalMs, o.unhealthyIntervalMs, o.timeoutMs) * TIMER_SLACK;
    this.#scheduler = new Scheduler<Probe>(this.#onDue, o.timers, o.now, slack);
  }

  /**
   * Subscribes to every finished check (for dashboards and logs). Listeners run
   * synchronously, after the pool has been told of any health change the check caused.
   * @returns a disposable that unsubscribes
   * @example
   * ```ts
   * using sub = monitor.onCheck(({ endpoint, ok, error, durationMs }) =>
   *   ok || console.warn(`${endpoint.id} failed its check in ${durationMs} ms`, error));
   * ```
   */
  onCheck(listener: (event: HealthCheckEvent) => void): Disposable {
    return this.#checks.subscribe(listener);
  }

  /** True between `start()` and `stop()`. */
  get started(): boolean {
    return this.#started;
  }

  /** The pool this monitor checks. */
  get pool(): PoolLike {
    return this.#pool;
  }

  /**
   * What the monitor knows of an endpoint's checks: its view of the endpoint's health, the
   * last result and how long ago it came, and counts. `undefined` for an id the monitor
   * does not follow (unknown, or before `start()`/`checkNow()`).
   * @example
   * ```ts
   * const status = monitor.status('http://127.0.0.1:8081');
   * if (status?.last?.ok === false) console.warn(status.last.error);
   * ```
   */
  status(id: string): HealthStatus | undefined {
    const probe = this.#probes.get(id);
    if (probe === undefined) return undefined;
    let last: HealthStatus['last'] = null;
    if (probe.checkedAt >= 0) {
      const ageMs = Math.max(this.#o.now() - probe.checkedAt, 0);
      last = probe.lastOk
        ? { ok: true, durationMs: probe.lastDurationMs, ageMs }
        : { ok: false, durationMs: probe.lastDurationMs, ageMs, error: describe(probe.lastError) };
    }
    return { healthy: probe.healthy, last, passed: probe.passed, failed: probe.failed };
  }

  /**
   * Starts checking every endpoint of the pool, each first within `jitter × intervalMs`.
   * Idempotent. The monitor's timer never keeps the process alive.
   * @example
   * ```ts
   * monitor.start();
   * ```
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#attach();
    for (const probe of this.#probes.values()) {
      if (probe.phase === 'idle' && probe.heapIndex < 0) this.#scheduleFirst(probe);
    }
  }

  /**
   * Checks every endpoint once, now, and resolves when all results are in (and the pool told).
   * An endpoint whose check is already queued or running is not checked twice: this waits for
   * that check. Works without `start()`, for one-off checks; call `stop()` afterwards to
   * unsubscribe from the pool.
   * @example
   * ```ts
   * await monitor.checkNow(); // every endpoint checked once, the pool updated
   * ```
   */
  async checkNow(): Promise<void> {
    this.#attach();
    const waits: Promise<void>[] = [];
    for (const probe of this.#probes.values()) {
      waits.push(new Promise<void>((resolve) => (probe.waiters ??= []).push(resolve)));
      if (probe.phase === 'idle') {
        this.#scheduler.unschedule(probe);
        probe.phase = 'queued';
        this.#queue.push(probe);
      }
    }
    this.#pump();
    await Promise.all(waits);
  }

  /**
   * Stops checking: aborts running checks (their results are ignored), clears the timer and
   * unsubscribes from the pool; resolves once no check is left running. Idempotent; the
   * monitor can be started again. A custom check that ignores its signal delays this.
   * @example
   * ```ts
   * await monitor.stop();
   * ```
   */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#subscriptions) for (const subscription of this.#subscriptions) subscription.dispose();
    this.#subscriptions = undefined;
    const stopped = new AbortedError('health monitor stopped');
    for (const probe of this.#probes.values()) this.#drop(probe, stopped);
    this.#probes.clear();
    this.#queue.clear();
    this.#scheduler.clear();
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /** Same as `stop()`, for `await using`. */
  [asyncDispose](): Promise<void> {
    return this.stop();
  }

  #attach(): void {
    if (this.#subscriptions) return;
    const pool = this.#pool;
    this.#subscriptions = [
      pool.onMembershipChange(this.#onMembership),
      pool.onStateChange(this.#onState),
    ];
    for (const endpoint of pool.endpoints) this.#add(endpoint);
  }

  readonly #onMembership = (event: MembershipChangeEvent): void => {
    const removed = new AbortedError('endpoint removed from the pool');
    for (const endpoint of event.removed) {
      const probe = this.#probes.get(endpoint.id);
      if (probe) this.#drop(probe, removed);
    }
    for (const endpoint of event.added) {
      const probe = this.#add(endpoint);
      if (this.#started && probe.phase === 'idle' && probe.heapIndex < 0)
        this.#scheduleFirst(probe);
    }
    this.#pump();
  };

  // Health set by someone else (an operator, another monitor) resets the counters.
  readonly #onState = (event: StateChangeEvent): void => {
    if (event.reason === HEALTH_CHECK_REASON) logChange(this.#o.logger, event);
    const probe = this.#probes.get(event.endpoint.id);
    if (!probe) return;
    let healthy: boolean;
    if (event.to === 'unhealthy') healthy = false;
    // Unhealthy outranks ejected, so either state means the health flag is up, whatever the
    // state before (health restored during a drain shows only when the drain is cancelled);
    // draining and removal say nothing about health.
    else if (event.to === 'healthy' || event.to === 'ejected') healthy = true;
    else return;
    setHealthy(probe, healthy);
  };

  #add(endpoint: PoolEndpoint): Probe {
    const existing = this.#probes.get(endpoint.id);
    if (existing) {
      existing.endpoint = endpoint;
      return existing;
    }
    const probe = createProbe(endpoint);
    this.#probes.set(endpoint.id, probe);
    return probe;
  }

  /** Forgets a probe: unscheduled, its running check aborted and ignored, its waiters released. */
  #drop(probe: Probe, reason: SwitchyardError): void {
    probe.removed = true;
    this.#probes.delete(probe.id);
    this.#scheduler.unschedule(probe);
    if (probe.controller) {
      const controller = probe.controller;
      probe.controller = undefined;
      this.#running--;
      controller.abort(reason);
    }
    probe.phase = 'idle';
    this.#release(probe);
  }

  #release(probe: Probe): void {
    const waiters = probe.waiters;
    if (waiters === undefined) return;
    probe.waiters = undefined;
    for (const resolve of waiters) resolve();
  }

  readonly #onDue = (probe: Probe): void => {
    if (probe.removed) return;
    if (probe.phase === 'running') {
      this.#timeout(probe);
    } else if (probe.phase === 'idle') {
      probe.phase = 'queued';
      this.#queue.push(probe);
    }
    this.#pump();
  };

  /** Starts queued checks while slots are free. */
  #pump(): void {
    while (this.#running < this.#o.concurrency) {
      const probe = this.#queue.shift();
      if (probe === undefined) return;
      if (!probe.removed && probe.phase === 'queued') this.#launch(probe);
    }
  }

  #launch(probe: Probe): void {
    const o = this.#o;
    probe.phase = 'idle';
    if ((this.#pool as { readonly closed?: unknown }).closed === true) {
      // A closed pool no longer listens: checking it further would be work for nothing.
      void this.stop();
      return;
    }
    const state = probe.endpoint.state;
    if (state === 'draining' || state === 'disabled') {
      this.#release(probe);
      this.#scheduleNext(probe);
      return;
    }
    if (probe.pending !== undefined) {
      // The last check timed out and still has not settled: it ignores its signal. Starting
      // another would overlap it, so this turn counts as one more failure.
      const error = new TimeoutError(
        `health check of ${probe.id} is still running ${Math.round(o.now() - probe.startedAt)} ms after it started; the check ignores its AbortSignal`,
      );
      this.#record(probe, false, error, o.now() - probe.startedAt);
      this.#scheduleNext(probe);
      return;
    }
    probe.phase = 'running';
    this.#running++;
    const controller = new AbortController();
    probe.controller = controller;
    probe.startedAt = o.now();
    this.#scheduler.schedule(probe, probe.startedAt + o.timeoutMs);
    const check = o.check;
    let result: Promise<void>;
    try {
      result = Promise.resolve(check(probe.endpoint, controller.signal));
    } catch (error) {
      result = Promise.reject(error);
    }
    const pending = result.then(
      () => this.#settle(probe, controller, true, undefined),
      (error: unknown) => this.#settle(probe, controller, false, error),
    );
    probe.pending = pending;
    this.#inflight.add(pending);
  }

  #settle(probe: Probe, controller: AbortController, ok: boolean, error: unknown): void {
    if (probe.pending) this.#inflight.delete(probe.pending);
    probe.pending = undefined;
    // Timed out, removed or stopped meanwhile: the result was counted already, or is moot.
    if (probe.controller !== controller) return;
    probe.controller = undefined;
    probe.phase = 'idle';
    this.#running--;
    this.#record(probe, ok, error, this.#o.now() - probe.startedAt);
    // Moves the probe from its deadline to its next check: one heap operation, not two.
    this.#scheduleNext(probe);
    this.#pump();
  }

  #timeout(probe: Probe): void {
    const controller = probe.controller!;
    probe.controller = undefined;
    probe.phase = 'idle';
    this.#running--;
    const error = new TimeoutError(
      `health check of ${probe.id} timed out after ${this.#o.timeoutMs} ms`,
    );
    controller.abort(error);
    this.#record(probe, false, error, this.#o.now() - probe.startedAt);
    this.#scheduleNext(probe);
  }

  /** Rise/fall: counts consecutive results and tells the pool on each threshold crossing. */
  #record(probe: Probe, ok: boolean, error: unknown, durationMs: number): void {
    const o = this.#o;
    const wasOk = probe.lastOk;
    const change = riseFall(probe, ok, o.healthyThreshold, o.unhealthyThreshold);
    if (!ok) logFailure(o.logger, probe.id, error, durationMs, wasOk);
    if (ok) probe.passed++;
    else probe.failed++;
    probe.checkedAt = o.now();
    probe.lastDurationMs = durationMs;
    probe.lastError = ok ? undefined : error;
    if (change !== undefined) this.#setHealth(probe.id, change);
    else if (ok && o.unejectOnPass && probe.healthy && probe.endpoint.state === 'ejected') {
      // Healthy all along, but ejected by outlier detection: the pass ends the ejection.
      this.#setHealth(probe.id, true);
    }
    if (this.#checks.hasListeners) {
      const endpoint = probe.endpoint;
      this.#checks.emit(ok ? { endpoint, ok, durationMs } : { endpoint, ok, error, durationMs });
    }
    this.#release(probe);
  }

  #setHealth(id: string, healthy: boolean): void {
    try {
      if (healthy && this.#o.unejectOnPass) {
        this.#pool.setHealth(id, true, HEALTH_CHECK_REASON, END_EJECTION);
      } else this.#pool.setHealth(id, healthy, HEALTH_CHECK_REASON);
    } catch (error) {
      // A closed pool ends the monitoring; anything else is a bug to surface, not to swallow.
      if ((error as { code?: unknown } | null)?.code === 'ERR_POOL_CLOSED') void this.stop();
      else
        queueMicrotask(() => {
          throw error;
        });
    }
  }

  #scheduleFirst(probe: Probe): void {
    const o = this.#o;
    this.#scheduler.schedule(probe, o.now() + o.random() * o.jitter * o.intervalMs);
  }

  #scheduleNext(probe: Probe): void {
    if (!this.#started || probe.removed) {
      this.#scheduler.unschedule(probe);
      return;
    }
    const o = this.#o;
    const base = probe.healthy && probe.lastOk ? o.intervalMs : o.unhealthyIntervalMs;
    const delay = base * (1 + o.jitter * (2 * o.random() - 1));
    this.#scheduler.schedule(probe, o.now() + delay);
  }
}

/** A health change the checks caused: `warn` when it takes an endpoint out, else `info`. */
function logChange(logger: Logger, event: StateChangeEvent): void {
  const { endpoint, from, to, reason } = event;
  const fields = { endpoint: endpoint.id, from, to, reason };
  const message = `${endpoint.id} ${from} -> ${to} (${reason})`;
  if (to === 'healthy') logger.info(fields, message);
  else logger.warn(fields, message);
}

/** A failed check: `warn` for the first in a row, `debug` for the ones after. */
function logFailure(
  logger: Logger,
  id: string,
  error: unknown,
  durationMs: number,
  first: boolean,
): void {
  const reason = describe(error);
  const fields = { endpoint: id, err: error, durationMs };
  const message = `health check of ${id} failed: ${reason}`;
  if (first) logger.warn(fields, message);
  else logger.debug(fields, message);
}

/**
 * A check's failure as one line of text, credentials masked: a custom check may quote the
 * endpoint's `parsedUrl`, and this text reaches `status()`, the dashboard and the log.
 */
function describe(error: unknown): string {
  return redactCredentials(error instanceof Error ? error.message || error.name : String(error));
}
