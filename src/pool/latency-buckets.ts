/**
 * Upper bounds (inclusive, in ms) of the fine latency buckets every endpoint records into:
 * ten per decade, 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ᵏ, from 0.1 ms to 100 s, then +∞.
 * Neighbours are at most a third apart, so a percentile interpolated inside its bucket is
 * within a few percent of the true value for any smooth distribution. Padded with +∞ to 64
 * entries, so {@link bucketOf} is six comparisons without a bounds check.
 * @internal
 */
export const FINE_BOUNDS_MS: Float64Array = (() => {
  const mantissas = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8];
  const bounds: number[] = [];
  for (let exponent = -1; exponent <= 4; exponent++) {
    for (const m of mantissas) bounds.push(Number((m * 10 ** exponent).toPrecision(6)));
  }
  bounds.push(100_000);
  const padded = new Float64Array(64).fill(Number.POSITIVE_INFINITY);
  padded.set(bounds);
  return padded;
})();

/** Buckets used: the finite bounds and one +∞ bucket. @internal */
export const FINE_BUCKETS = FINE_BOUNDS_MS.indexOf(Number.POSITIVE_INFINITY) + 1;

/**
 * Upper bounds (inclusive, in ms) of the latency histogram a pool reports
 * (`pool.latencyHistogram()`) and the dashboard exposes as
 * `switchyard_request_duration_seconds`: Prometheus' 1-2.5-5 steps from 1 ms to 10 s, then
 * 30 s and 60 s. Each is also a fine bucket bound, so the counts are exact; a last, +∞
 * bucket holds everything.
 */
export const LATENCY_HISTOGRAM_BOUNDS_MS: readonly number[] = Object.freeze([
  1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000,
]);

/** For each reported bound, the index of the fine bucket it closes. @internal */
export const HISTOGRAM_FINE_INDEX: readonly number[] = LATENCY_HISTOGRAM_BOUNDS_MS.map((bound) =>
  FINE_BOUNDS_MS.indexOf(bound),
);

/**
 * The fine bucket of a latency `ms` ≥ 0: the first whose bound is ≥ `ms`. A branchy binary
 * search over 64 entries, six comparisons: on the release path, latencies cluster and the
 * branches predict well.
 * @internal
 */
export function bucketOf(ms: number): number {
  const b = FINE_BOUNDS_MS;
  let i = 0;
  if (ms > b[i + 31]!) i += 32;
  if (ms > b[i + 15]!) i += 16;
  if (ms > b[i + 7]!) i += 8;
  if (ms > b[i + 3]!) i += 4;
  if (ms > b[i + 1]!) i += 2;
  if (ms > b[i]!) i += 1;
  return i;
}

/**
 * The `q` quantile (0 < q ≤ 1) of the samples counted in `counts` (per fine bucket),
 * interpolated linearly inside its bucket (from 0 for the first one); the lowest bound of
 * the +∞ bucket when it falls there. `null` when there are no samples.
 * @internal
 */
export function quantile(counts: ArrayLike<number>, total: number, q: number): number | null {
  if (total <= 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < FINE_BUCKETS; i++) {
    const n = counts[i]!;
    if (n === 0) continue;
    if (seen + n >= rank) {
      const hi = FINE_BOUNDS_MS[i]!;
      const lo = i === 0 ? 0 : FINE_BOUNDS_MS[i - 1]!;
      if (hi === Number.POSITIVE_INFINITY) return lo;
      return round3(lo + ((hi - lo) * (rank - seen)) / n);
    }
    seen += n;
  }
  return null;
}

/** Rounded to the microsecond: the JSON stays short and the figures honest. */
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
