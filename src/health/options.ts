import { defaultClock } from '../clock.js';
import { checkLogger, type Logger } from '../logger.js';
import type { PoolEndpoint } from '../pool/types.js';
import { checkBoolean, checkOptions, functionOption, numberOption, quote } from '../validate.js';
import { fetchCheck } from './fetch-check.js';
import { globalTimers, MAX_TIMER_DELAY_MS, type TimerApi } from './scheduler.js';

/**
 * An active health check: resolves when `endpoint` is healthy, throws or rejects when it
 * is not. It must stop its work and settle promptly once `signal` aborts (on timeout and on
 * `monitor.stop()`); the monitor never runs two checks of one endpoint at once.
 *
 * @example
 * ```ts
 * const check: HealthCheck = async (endpoint, signal) => {
 *   const res = await fetch(new URL('/healthz', endpoint.url), { signal });
 *   await res.body?.cancel();
 *   if (res.status !== 200) throw new Error(`status ${res.status}`);
 * };
 * ```
 */
export type HealthCheck = (endpoint: PoolEndpoint, signal: AbortSignal) => Promise<void>;

/**
 * What a monitor knows of one endpoint's checks, as `monitor.status(id)` gives it: for
 * dashboards.
 */
export interface HealthStatus {
  /** The monitor's view: false once `unhealthyThreshold` failures in a row took it out. */
  readonly healthy: boolean;
  /** The last finished check, or `null` before the first one. */
  readonly last: {
    /** True when it passed. */
    readonly ok: boolean;
    /** How long it took, in ms. */
    readonly durationMs: number;
    /** How long ago it ended, in ms of the monitor's clock. */
    readonly ageMs: number;
    /** Why it failed (the error's message), when it did. */
    readonly error?: string;
  } | null;
  /** Checks passed since the endpoint was first checked. */
  readonly passed: number;
  /** Checks failed (timeouts included) since the endpoint was first checked. */
  readonly failed: number;
}

/** One finished check, as given to `monitor.onCheck()` listeners. */
export interface HealthCheckEvent {
  /** The endpoint checked. */
  readonly endpoint: PoolEndpoint;
  /** True when the check passed. */
  readonly ok: boolean;
  /** Why it failed, when `ok` is false: what the check threw, or a timeout (`ERR_TIMEOUT`). */
  readonly error?: unknown;
  /** How long the check took, in milliseconds of the monitor's clock. */
  readonly durationMs: number;
}

/** Default `intervalMs`: 5 s, as NGINX Plus `health_check interval=5` (HAProxy `inter` is 2 s). */
export const DEFAULT_HEALTH_INTERVAL_MS = 5_000;
/** Default `timeoutMs`: 2 s. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 2_000;
/** Default `unhealthyIntervalMs` when `intervalMs` is longer: 1 s. */
export const DEFAULT_HEALTH_UNHEALTHY_INTERVAL_MS = 1_000;
/** Default `jitter`: each delay varies by ±10 % (HAProxy `spread-checks 10`). */
export const DEFAULT_HEALTH_JITTER = 0.1;
/** Default `healthyThreshold`: 2 passes in a row bring an endpoint back (HAProxy `rise 2`). */
export const DEFAULT_HEALTHY_THRESHOLD = 2;
/** Default `unhealthyThreshold`: 3 failures in a row take an endpoint out (HAProxy `fall 3`). */
export const DEFAULT_UNHEALTHY_THRESHOLD = 3;
/** Default `concurrency`: at most 64 checks in flight at once. */
export const DEFAULT_HEALTH_CONCURRENCY = 64;

/** Options of {@link HealthMonitor}. */
export interface HealthMonitorOptions {
  /**
   * The check to run. Use `httpCheck()` from `switchyard/http`, `tcpCheck()` from
   * `switchyard/tcp`, or your own function.
   * @default a GET of the endpoint URL's origin + `/` with the global `fetch`, redirects not
   *   followed; a 2xx or 3xx status passes (HAProxy `option httpchk`), the body is cancelled.
   *   http: and https: endpoints only.
   */
  readonly check?: HealthCheck;
  /**
   * Time between checks of a healthy endpoint whose last check passed, counted from the end
   * of the previous check (as HAProxy `inter`), so checks never overlap.
   * @default 5000
   */
  readonly intervalMs?: number;
  /**
   * Time between checks while an endpoint is unhealthy or its last check failed: HAProxy's
   * `downinter` and `fastinter` both set to this value. Shorter than `intervalMs`, it
   * confirms a failure and a recovery sooner.
   * @default `Math.min(1000, intervalMs)`
   */
  readonly unhealthyIntervalMs?: number;
  /**
   * A check still running after this long fails with code `ERR_TIMEOUT` and its signal is
   * aborted. May exceed the interval: the next check waits for the previous one.
   * @default 2000
   */
  readonly timeoutMs?: number;
  /**
   * Spread, as a fraction of the delay: each delay is drawn uniformly from
   * `delay × (1 ± jitter)`, and the first check of an endpoint runs within
   * `jitter × intervalMs` of `start()` (HAProxy `spread-checks`). Between 0 and 0.5.
   * @default 0.1
   */
  readonly jitter?: number;
  /** Consecutive passes that bring an unhealthy endpoint back (HAProxy `rise`). @default 2 */
  readonly healthyThreshold?: number;
  /** Consecutive failures that take a healthy endpoint out (HAProxy `fall`). @default 3 */
  readonly unhealthyThreshold?: number;
  /**
   * Most checks in flight at once across all endpoints; the others wait their turn in due
   * order. Bounds the sockets a large pool opens at the same moment.
   * @default 64
   */
  readonly concurrency?: number;
  /**
   * A passing check ends an outlier ejection (consecutive failures or latency) at once, as
   * Envoy's `successful_active_health_check_uneject_host` does by default: the endpoint
   * answers again, so it gets traffic again (`ejected -> healthy (health-check)`). An
   * endpoint that was also unhealthy comes back in one step when `healthyThreshold` passes
   * are in. `false` keeps every ejection to its end, whatever the checks say. A
   * `Retry-After` ejection is always kept: the endpoint asked for that time.
   * @default true
   */
  readonly unejectOnPass?: boolean;
  /**
   * Where to log, pino-style: health changes the checks cause (`warn` out, `info` back)
   * and failing checks (`warn` for the first failure in a row, `debug` for the next
   * ones). See {@link Logger}.
   * @default silent
   */
  readonly logger?: Logger;
  /** Clock in milliseconds, monotonic if possible. @default `performance.now` (else `Date.now`) */
  readonly now?: () => number;
  /** Uniform numbers in [0, 1) for jitter. @default Math.random */
  readonly random?: () => number;
  /** Timer functions (a fake clock's, or counting ones). @default `globalThis` setTimeout/clearTimeout */
  readonly timers?: TimerApi;
}

/** Options resolved and validated. @internal */
export interface ResolvedHealthOptions {
  readonly check: HealthCheck;
  readonly intervalMs: number;
  readonly unhealthyIntervalMs: number;
  readonly timeoutMs: number;
  readonly jitter: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  readonly concurrency: number;
  readonly unejectOnPass: boolean;
  readonly logger: Logger;
  readonly now: () => number;
  readonly random: () => number;
  readonly timers: TimerApi;
}

const KNOWN = [
  'check',
  'intervalMs',
  'unhealthyIntervalMs',
  'timeoutMs',
  'jitter',
  'healthyThreshold',
  'unhealthyThreshold',
  'concurrency',
  'unejectOnPass',
  'logger',
  'now',
  'random',
  'timers',
] as const;

const DELAY = { min: 0, minExclusive: true, max: MAX_TIMER_DELAY_MS } as const;
const THRESHOLD = { min: 1, integer: true } as const;

function checkTimers(value: unknown): TimerApi {
  const timers = value as Partial<TimerApi> | null;
  if (
    typeof timers !== 'object' ||
    timers === null ||
    typeof timers.setTimeout !== 'function' ||
    typeof timers.clearTimeout !== 'function'
  ) {
    throw new TypeError(
      `timers must be an object with setTimeout and clearTimeout functions, got ${quote(value)}`,
    );
  }
  return timers as TimerApi;
}

/** Validates every option and fills in the defaults. @internal */
export function resolveHealthOptions(input: unknown): ResolvedHealthOptions {
  const o = checkOptions('HealthMonitor', input, KNOWN);
  const intervalMs = numberOption(o, 'intervalMs', DEFAULT_HEALTH_INTERVAL_MS, DELAY);
  const unhealthyIntervalMs = Math.min(DEFAULT_HEALTH_UNHEALTHY_INTERVAL_MS, intervalMs);
  return {
    check: functionOption<HealthCheck>(o, 'check', fetchCheck),
    intervalMs,
    unhealthyIntervalMs: numberOption(o, 'unhealthyIntervalMs', unhealthyIntervalMs, DELAY),
    timeoutMs: numberOption(o, 'timeoutMs', DEFAULT_HEALTH_TIMEOUT_MS, DELAY),
    jitter: numberOption(o, 'jitter', DEFAULT_HEALTH_JITTER, { min: 0, max: 0.5 }),
    healthyThreshold: numberOption(o, 'healthyThreshold', DEFAULT_HEALTHY_THRESHOLD, THRESHOLD),
    unhealthyThreshold: numberOption(
      o,
      'unhealthyThreshold',
      DEFAULT_UNHEALTHY_THRESHOLD,
      THRESHOLD,
    ),
    concurrency: numberOption(o, 'concurrency', DEFAULT_HEALTH_CONCURRENCY, {
      ...THRESHOLD,
      allowInfinity: true,
    }),
    unejectOnPass: checkBoolean('unejectOnPass', o.unejectOnPass ?? true),
    logger: checkLogger('logger', o.logger),
    now: functionOption(o, 'now', defaultClock()),
    random: functionOption(o, 'random', Math.random),
    timers: o.timers === undefined ? globalTimers : checkTimers(o.timers),
  };
}
