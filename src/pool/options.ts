import { defaultClock } from '../clock.js';
import type { Selector } from '../selectors/selector.js';
import { checkBoolean, checkOptions, functionOption, numberOption, quote } from '../validate.js';
import type { OutlierDetectionOptions } from './outlier.js';
import type { EndpointInput, PoolEndpoint } from './types.js';

/** No slow start by default: endpoints get their full weight at once. */
export const DEFAULT_SLOW_START_MS = 0;
/** Panic below half of a tier healthy, as Envoy's `healthy_panic_threshold` (50 %). */
export const DEFAULT_PANIC_THRESHOLD = 0.5;
/**
 * Longest `Retry-After` honoured: 60 s. Long enough for the values servers send (30, 60),
 * short enough that a bogus `Retry-After: 86400` cannot take an endpoint out for a day.
 */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;
/** Time constant of the latency EWMA: 10 s, Finagle's `decayTime` default. */
export const DEFAULT_LATENCY_DECAY_MS = 10_000;

/**
 * Options of {@link Pool}.
 *
 * @example
 * ```ts
 * const pool = new Pool({
 *   endpoints: ['http://127.0.0.1:8081', { url: 'http://127.0.0.1:8082', weight: 3 }],
 *   outlierDetection: { consecutiveFailures: 5 },
 *   slowStartMs: 30_000,
 * });
 * ```
 */
export interface PoolOptions {
  /**
   * The initial endpoints: URL strings or objects `{ id?, url, weight?, priority?, metadata? }`.
   * @default []
   */
  readonly endpoints?: readonly EndpointInput[];
  /**
   * The strategy that picks among eligible endpoints. The pool calls its `update()` when the
   * eligible set or an effective weight changes (rarely), and `pick()` on every acquire.
   * Give each pool its own instance.
   * @default new PowerOfTwoChoices()
   */
  readonly selector?: Selector<PoolEndpoint>;
  /**
   * Passive health checking: ejection after consecutive failures (and, opt-in, on
   * latency). `false` disables it; `Retry-After` is still honoured, within the default
   * ejection cap ({@link DEFAULT_MAX_EJECTION_PERCENT}: never more than half the pool).
   * @default {} (every {@link OutlierDetectionOptions} default)
   */
  readonly outlierDetection?: OutlierDetectionOptions | boolean;
  /**
   * Ramp time of slow start: an endpoint that (re)enters service goes from 10 % of its
   * weight to 100 % over this many ms. Endpoints given to the constructor start at full
   * weight (they all start together, so ramping them would change nothing). 0 disables it.
   * @default 0 ({@link DEFAULT_SLOW_START_MS})
   */
  readonly slowStartMs?: number;
  /**
   * Panic threshold in [0, 1]: when the healthy share of the serving tier falls below it,
   * every endpoint of the tier is eligible. 0 disables panic.
   * @default 0.5 ({@link DEFAULT_PANIC_THRESHOLD})
   */
  readonly panicThreshold?: number;
  /**
   * Cap on `ReleaseOutcome.retryAfterMs`: a `Retry-After` ejects the endpoint for
   * `min(retryAfterMs, maxRetryAfterMs)`, unless that would eject more than
   * `maxEjectionPercent` of the pool (outlier detection's, or its default 50 % when outlier
   * detection is off). 0 ignores `Retry-After`.
   * @default 60_000 ({@link DEFAULT_MAX_RETRY_AFTER_MS})
   */
  readonly maxRetryAfterMs?: number;
  /**
   * Time constant τ of the peak-sensitive latency EWMA, in ms: a sample below the current
   * average weighs `1 − exp(−Δt/τ)`.
   * @default 10_000 ({@link DEFAULT_LATENCY_DECAY_MS})
   */
  readonly latencyDecayMs?: number;
  /**
   * The clock, in milliseconds (monotonic preferred). Inject one in tests.
   * @default `performance.now`
   */
  readonly now?: () => number;
  /**
   * Uniform numbers in [0, 1), for the backoff jitter of `execute()`.
   * @default Math.random
   */
  readonly random?: () => number;
}

/** Options of {@link Pool.remove} and {@link Pool.setEndpoints}. */
export interface RemoveOptions {
  /**
   * Let in-flight work finish first: the endpoint turns `draining` (no new picks) and leaves
   * when its last lease is released. Without it, the endpoint leaves at once; its
   * outstanding leases still release safely.
   * @default false
   */
  readonly drain?: boolean;
}

/** Keys of {@link PoolOptions}. @internal */
export const POOL_OPTION_KEYS = [
  'endpoints',
  'selector',
  'outlierDetection',
  'slowStartMs',
  'panicThreshold',
  'maxRetryAfterMs',
  'latencyDecayMs',
  'now',
  'random',
] as const;

/** Options after validation and defaults (outlier detection and endpoints apart). @internal */
export interface ResolvedPoolOptions {
  /** As given; checked by {@link checkSelector} when set. */
  readonly selector: unknown;
  /** As given; resolved by `resolveOutlierDetection`. */
  readonly outlierDetection: unknown;
  readonly endpoints: readonly EndpointInput[];
  readonly slowStartMs: number;
  readonly panicThreshold: number;
  readonly maxRetryAfterMs: number;
  readonly latencyDecayMs: number;
  readonly now: () => number;
  readonly random: () => number;
}

/**
 * Validates the pool's options (all but `selector` and `outlierDetection`, which have their
 * own resolvers) and applies defaults.
 * @throws TypeError or RangeError naming the option and quoting the value.
 * @internal
 */
export function resolvePoolOptions(options: PoolOptions | undefined): ResolvedPoolOptions {
  const o = checkOptions('Pool', options, POOL_OPTION_KEYS);
  if (o.endpoints !== undefined && !Array.isArray(o.endpoints)) {
    throw new TypeError(`endpoints must be an array, got ${quote(o.endpoints)}`);
  }
  return {
    selector: o.selector,
    outlierDetection: o.outlierDetection,
    endpoints: (o.endpoints as readonly EndpointInput[] | undefined) ?? [],
    slowStartMs: numberOption(o, 'slowStartMs', DEFAULT_SLOW_START_MS, { min: 0 }),
    panicThreshold: numberOption(o, 'panicThreshold', DEFAULT_PANIC_THRESHOLD, { min: 0, max: 1 }),
    maxRetryAfterMs: numberOption(o, 'maxRetryAfterMs', DEFAULT_MAX_RETRY_AFTER_MS, { min: 0 }),
    latencyDecayMs: numberOption(o, 'latencyDecayMs', DEFAULT_LATENCY_DECAY_MS, {
      min: 0,
      minExclusive: true,
    }),
    now: functionOption(o, 'now', defaultClock()),
    random: functionOption(o, 'random', Math.random),
  };
}

/**
 * Checks that `selector` looks like a {@link Selector}.
 * @throws TypeError quoting the value.
 * @internal
 */
export function checkSelector(selector: unknown): Selector<PoolEndpoint> {
  const s = selector as { update?: unknown; pick?: unknown } | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.update !== 'function' ||
    typeof s.pick !== 'function'
  ) {
    throw new TypeError(
      `selector must be an object with update() and pick() methods, got ${quote(selector)}`,
    );
  }
  return s as Selector<PoolEndpoint>;
}

/**
 * Validates the {@link RemoveOptions} of `method` and returns `drain`.
 * @throws TypeError for an unknown option or a `drain` that is not a boolean.
 * @internal
 */
export function resolveDrain(method: string, options: unknown): boolean {
  const o = checkOptions(`${method}()`, options, ['drain']);
  return o.drain === undefined ? false : checkBoolean('drain', o.drain);
}
