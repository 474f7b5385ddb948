/**
 * Slow start: an endpoint that (re)enters service gets a growing share of traffic instead of
 * its full share at once, so a cold cache or JIT is not flooded. The effective weight is
 * `configuredWeight × max(minShare, elapsed / window)`: Envoy's slow start with aggression
 * 1 and its default `min_weight_percent` of 10 %.
 */

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
