/**
 * Slow start: an endpoint that (re)enters service gets a growing share of traffic instead of
 * its full share at once, so a cold cache or JIT is not flooded. The effective weight is
 * `configuredWeight × max(minShare, elapsed / window)`: Envoy's slow start with aggression
 * 1 and its default `min_weight_percent` of 10 %.
 */

import type { EndpointRecord } from './endpoint.js';

/** Smallest share of its weight an endpoint gets while ramping: 10 %, as Envoy. */
export const SLOW_START_MIN_SHARE = 0.1;

/** Longest time between two refreshes of ramping weights, in ms. */
const MAX_REFRESH_MS = 1_000;

/**
 * The effective-weight factor of an endpoint `elapsed` ms into a ramp of `window` ms: from
 * {@link SLOW_START_MIN_SHARE} up to 1, linear in time.
 * @internal
 */
export function slowStartFactor(elapsed: number, window: number): number {
  if (elapsed >= window) return 1;
  return Math.max(elapsed / window, SLOW_START_MIN_SHARE);
}

/**
 * How often ramping weights are refreshed (and the selector updated): a tenth of the
 * window, at most once a second, so a ramp has at least ten steps and a long one costs one
 * selector update per second.
 * @internal
 */
export function slowStartRefreshMs(window: number): number {
  return Math.min(window / 10, MAX_REFRESH_MS);
}

/**
 * The endpoints whose ramp is in progress, and when their weights are next due a refresh.
 * The effective weights themselves live on the records; the pool applies them.
 * @internal
 */
export class SlowStart {
  /** Ramp time in ms; 0 disables slow start. */
  readonly #windowMs: number;
  readonly #ramping = new Set<EndpointRecord>();
  /** When ramping weights are next due a refresh; +∞ when nothing ramps. */
  nextAt = Number.POSITIVE_INFINITY;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Endpoints ramping now. */
  get ramping(): ReadonlySet<EndpointRecord> {
    return this.#ramping;
  }

  /**
   * (Re)starts `record`'s ramp at `t`.
   * @returns false when slow start is off (nothing changed).
   */
  start(record: EndpointRecord, t: number): boolean {
    if (this.#windowMs === 0) return false;
    record.rampStart = t;
    this.#ramping.add(record);
    const at = t + slowStartRefreshMs(this.#windowMs);
    if (at < this.nextAt) this.nextAt = at;
    return true;
  }

  /**
   * Ends `record`'s ramp early (it left service, or the pool).
   * @returns true when it was ramping.
   */
  stop(record: EndpointRecord): boolean {
    return this.#ramping.delete(record);
  }

  /**
   * `record`'s effective weight at `t`: its configured weight, scaled while it ramps.
   * A ramp that is over ends here.
   */
  weight(record: EndpointRecord, t: number): number {
    const weight = record.configuredWeight;
    if (!this.#ramping.has(record)) return weight;
    const f = slowStartFactor(t - record.rampStart, this.#windowMs);
    if (f < 1) return weight * f;
    this.#ramping.delete(record);
    return weight;
  }

  /** Sets the next refresh after the one done at `t`. */
  stepped(t: number): void {
    this.nextAt =
      this.#ramping.size > 0 ? t + slowStartRefreshMs(this.#windowMs) : Number.POSITIVE_INFINITY;
  }
}
