import { checkOptions, type NumberBounds, numberOption, quote } from '../validate.js';
import type { EndpointRecord } from './endpoint.js';

/** Consecutive failures that eject an endpoint: 5, as Envoy's `consecutive_5xx`. */
export const DEFAULT_CONSECUTIVE_FAILURES = 5;
/** First ejection time: 30 s, as Envoy's `base_ejection_time`. */
export const DEFAULT_BASE_EJECTION_MS = 30_000;
/** Longest ejection: 300 s, as Envoy's `max_ejection_time`. */
export const DEFAULT_MAX_EJECTION_MS = 300_000;
/**
 * Largest share of the pool ejected at once, in percent: 50. Envoy's 10 % means a pool of
 * fewer than ten endpoints never ejects anything (which is why Envoy later added
 * `always_eject_one_host`); 50 % lets a pool of two or three eject its bad endpoint, and
 * with the default panic threshold (0.5) ejections alone never push the pool into panic.
 */
export const DEFAULT_MAX_EJECTION_PERCENT = 50;
/** How long an endpoint must stay slow before a latency ejection: 10 s. */
export const DEFAULT_LATENCY_WINDOW_MS = 10_000;
/** Latency samples an endpoint needs before it is judged on latency: 20. */
export const DEFAULT_LATENCY_MIN_SAMPLES = 20;
/** Endpoints with enough samples needed for a meaningful median: 3. */
export const LATENCY_MIN_ENDPOINTS = 3;

/**
 * Passive health checking (outlier detection) of a {@link Pool}: endpoints that keep failing
 * (or, opt-in, stay much slower than their peers) are ejected for a time and come back by
 * themselves, as Envoy's outlier detection.
 *
 * @example
 * ```ts
 * new Pool({ endpoints, outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 10_000 } });
 * ```
 */
export interface OutlierDetectionOptions {
  /**
   * Failed releases in a row (`release({ ok: false })`) that eject an endpoint. A success
   * resets the count.
   * @default 5 ({@link DEFAULT_CONSECUTIVE_FAILURES})
   */
  readonly consecutiveFailures?: number;
  /**
   * Ejection time of a first ejection; the n-th ejection in a row lasts n times as long. The
   * multiplier goes down by one for every `baseEjectionMs` the endpoint spends back in
   * service, as Envoy's.
   * @default 30_000 ({@link DEFAULT_BASE_EJECTION_MS})
   */
  readonly baseEjectionMs?: number;
  /**
   * Cap on one ejection's length; at least `baseEjectionMs`.
   * @default 300_000 ({@link DEFAULT_MAX_EJECTION_MS})
   */
  readonly maxEjectionMs?: number;
  /**
   * Largest share of the pool (endpoints not draining) ejected at once, in percent, applied
   * strictly as current Envoy does: an ejection that would exceed it does not happen.
   * `Retry-After` ejections count and are capped alike. `0`
   * disables ejection; `100` lets every endpoint be ejected (the panic threshold then
   * sends traffic to all of them anyway).
   * @default 50 ({@link DEFAULT_MAX_EJECTION_PERCENT})
   */
  readonly maxEjectionPercent?: number;
  /**
   * Opt-in latency ejection: an endpoint whose smoothed latency stays above
   * `latencyFactor ×` the median of its healthy peers for `latencyWindowMs` (and which
   * served `latencyMinSamples` requests in that time) is ejected with reason `latency`.
   * Judged on a plain EWMA with a time constant of a tenth of the window, so a single slow
   * response fades long before the window ends. Needs at least three endpoints with
   * `latencyMinSamples` samples each. Must be > 1.
   * @default undefined (off)
   */
  readonly latencyFactor?: number;
  /**
   * How long an endpoint must stay above the latency threshold before it is ejected.
   * @default 10_000 ({@link DEFAULT_LATENCY_WINDOW_MS})
   */
  readonly latencyWindowMs?: number;
  /**
   * Latency samples an endpoint needs (since it last entered service) before its latency
   * counts, for the median or against it.
   * @default 20 ({@link DEFAULT_LATENCY_MIN_SAMPLES})
   */
  readonly latencyMinSamples?: number;
}

/** Outlier detection settings after defaults. @internal */
export interface OutlierSettings {
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
  /** 0 when latency ejection is off. */
  readonly latencyFactor: number;
  readonly latencyWindowMs: number;
  readonly latencyMinSamples: number;
}

const KEYS = [
  'consecutiveFailures',
  'baseEjectionMs',
  'maxEjectionMs',
  'maxEjectionPercent',
  'latencyFactor',
  'latencyWindowMs',
  'latencyMinSamples',
] as const;

/**
 * Validates `outlierDetection` and applies defaults; `undefined` when it is `false`.
 * @throws TypeError or RangeError naming the option and quoting the value.
 * @internal
 */
export function resolveOutlierDetection(value: unknown): OutlierSettings | undefined {
  if (value === false) return undefined;
  if (value === true) value = undefined;
  if (
    value !== undefined &&
    (typeof value !== 'object' || value === null || Array.isArray(value))
  ) {
    throw new TypeError(`outlierDetection must be an object or false, got ${quote(value)}`);
  }
  const o = checkOptions('outlierDetection', value, KEYS);
  const n = (key: (typeof KEYS)[number], fallback: number, bounds: NumberBounds) =>
    numberOption(o, key, fallback, bounds, `outlierDetection.${key}`);
  const baseEjectionMs = n('baseEjectionMs', DEFAULT_BASE_EJECTION_MS, {
    min: 0,
    minExclusive: true,
  });
  const maxEjectionMs = n('maxEjectionMs', Math.max(DEFAULT_MAX_EJECTION_MS, baseEjectionMs), {
    min: baseEjectionMs,
  });
  return {
    consecutiveFailures: n('consecutiveFailures', DEFAULT_CONSECUTIVE_FAILURES, {
      min: 1,
      integer: true,
    }),
    baseEjectionMs,
    maxEjectionMs,
    maxEjectionPercent: n('maxEjectionPercent', DEFAULT_MAX_EJECTION_PERCENT, { min: 0, max: 100 }),
    latencyFactor: n('latencyFactor', 0, { min: 1, minExclusive: true }),
    latencyWindowMs: n('latencyWindowMs', DEFAULT_LATENCY_WINDOW_MS, {
      min: 0,
      minExclusive: true,
    }),
    latencyMinSamples: n('latencyMinSamples', DEFAULT_LATENCY_MIN_SAMPLES, {
      min: 1,
      integer: true,
    }),
  };
}

/**
 * The ejection multiplier at `now`, after decay: one step less for every `baseEjectionMs`
 * since the last ejection ended (Envoy decrements it once per interval while the host is
 * not ejected; computing it lazily gives the same figure without a timer).
 * @internal
 */
export function decayedMultiplier(
  record: EndpointRecord,
  now: number,
  settings: OutlierSettings,
): number {
  const m = record.ejectionMultiplier;
  if (m === 0 || record.ejectedUntil > now) return m;
  const steps = Math.floor((now - record.ejectionEndedAt) / settings.baseEjectionMs);
  return steps >= m ? 0 : steps > 0 ? m - steps : m;
}

/**
 * Bumps the multiplier for a new ejection and returns the ejection's length:
 * `baseEjectionMs × multiplier`, capped by `maxEjectionMs`. Like Envoy, the multiplier stops
 * growing once the cap is reached, so it decays back in a bounded time.
 * @internal
 */
export function nextEjection(
  record: EndpointRecord,
  now: number,
  settings: OutlierSettings,
): number {
  const { baseEjectionMs, maxEjectionMs } = settings;
  let m = decayedMultiplier(record, now, settings);
  if (m * baseEjectionMs < maxEjectionMs) m++;
  record.ejectionMultiplier = m;
  return Math.min(baseEjectionMs * m, maxEjectionMs);
}

/**
 * True when one more ejection keeps the ejected share within `percent` of `members`
 * (strict, as Envoy: `100 × (ejected + 1) / members ≤ percent`).
 * @internal
 */
export function mayEject(ejected: number, members: number, percent: number): boolean {
  return members > 0 && 100 * (ejected + 1) <= percent * members;
}

/**
 * Median of the plain latency EWMAs of `records` with at least `minSamples` samples, or −1 when
 * fewer than {@link LATENCY_MIN_ENDPOINTS} qualify. Runs at the latency-evaluation cadence,
 * never per request.
 * @internal
 */
export function medianLatency(records: readonly EndpointRecord[], minSamples: number): number {
  const values: number[] = [];
  for (const r of records) {
    if (r.latencySamples >= minSamples && r.latencyMean > 0) values.push(r.latencyMean);
  }
  if (values.length < LATENCY_MIN_ENDPOINTS) return -1;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}
