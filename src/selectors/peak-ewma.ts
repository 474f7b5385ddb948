import { checkOptions } from '../validate.js';
import { resolveRandom, validateEndpoints } from './endpoints.js';
import type { PickContext, Selector, SelectorEndpoint } from './selector.js';
import { TwoChoiceSampler } from './two-choices.js';

/** Options for {@link PeakEwma}. */
export interface PeakEwmaOptions {
  /**
   * Source of uniform numbers in [0, 1); two calls per pick without `exclude`.
   * @default Math.random
   */
  readonly random?: () => number;
}

/**
 * Cost of an endpoint whose latency is still unknown but which already has requests in
 * flight: far above any real cost (a minute × 10⁶ requests is 6 × 10¹⁰), so new
 * endpoints get one request at a time until their first latency sample arrives. It is
 * Finagle's `Long.MaxValue >> 16`, rounded to 2⁴⁷: small enough that adding `inflight`
 * stays exact in a double, which keeps such endpoints ordered by load among themselves
 * (near 2⁵² the sum would round and tie).
 */
const UNKNOWN_LATENCY_PENALTY = 2 ** 47;

/**
 * Power of two choices on expected latency: draws two distinct random endpoints and picks
 * the one with the lower cost `latency × (inflight + 1) / weight` (the first drawn on a
 * tie). This is Finagle's peak-EWMA balancer: `latency` is a moving average that jumps
 * up at once on a slow response and decays slowly, so a slowing endpoint loses traffic
 * immediately. The average itself is kept by the pool; this selector only reads
 * `endpoint.latency`.
 *
 * Use it when endpoints differ in speed (mixed hardware, noisy neighbours, a GC pause):
 * it routes around the slow one faster than connection counting does.
 *
 * Unknown latency (`latency === 0`) follows Finagle: with nothing in flight the cost is
 * 0, so a new endpoint is tried at once; with requests in flight the cost is
 * `2⁴⁷ + inflight` (Finagle's penalty, above any real cost), so traffic does not pile
 * onto an endpoint before its first response says how fast it is.
 *
 * Candidate sampling and `exclude` handling are those of {@link PowerOfTwoChoices}
 * (Mitzenmacher 2001).
 *
 * @example
 * ```ts
 * const ewma = new PeakEwma();
 * ewma.update([
 *   { id: 'a', weight: 1, inflight: 2, latency: 5 }, // cost 5 × 3 = 15
 *   { id: 'b', weight: 1, inflight: 0, latency: 40 }, // cost 40
 * ]);
 * ewma.pick(); // a
 * // Usually handed to a pool, which keeps `latency` and `inflight` current:
 * new Pool({ endpoints: ['http://127.0.0.1:8081'], selector: new PeakEwma() });
 * ```
 */
export class PeakEwma<E extends SelectorEndpoint = SelectorEndpoint> implements Selector<E> {
  readonly #sampler: TwoChoiceSampler;
  #endpoints: readonly E[] = [];

  /**
   * @param options - see {@link PeakEwmaOptions}
   * @throws TypeError for an unknown option or a `random` that is not a function.
   */
  constructor(options?: PeakEwmaOptions) {
    const opts = checkOptions('PeakEwma', options, ['random']);
    this.#sampler = new TwoChoiceSampler(resolveRandom('PeakEwma', opts.random));
  }

  /**
   * Replaces the endpoint set. Keeps a reference to `endpoints` (no copy); `latency` and
   * `inflight` are read from the objects at each pick.
   * @throws TypeError or RangeError for a bad endpoint (weight ≤ 0, NaN, infinite or not a
   *   number; a duplicate or empty id), naming the field and quoting the value.
   */
  update(endpoints: readonly E[]): void {
    validateEndpoints('PeakEwma', endpoints);
    this.#sampler.reserve(endpoints.length);
    this.#endpoints = endpoints;
  }

  /**
   * The cheaper of two distinct random non-excluded endpoints. O(1) without `exclude`.
   * @returns `undefined` when there are no endpoints or every one is excluded.
   */
  pick(context?: PickContext<E>): E | undefined {
    const endpoints = this.#endpoints;
    const sampler = this.#sampler;
    const drawn = sampler.draw(endpoints, context?.exclude);
    if (drawn === 0) return undefined;
    const a = endpoints[sampler.first]!;
    if (drawn === 1) return a;
    const b = endpoints[sampler.second]!;
    return cost(b) < cost(a) ? b : a;
  }
}

/** Finagle's peak-EWMA cost, with its rule for unknown latency. */
function cost(endpoint: SelectorEndpoint): number {
  const { latency, inflight } = endpoint;
  if (latency === 0) return inflight === 0 ? 0 : UNKNOWN_LATENCY_PENALTY + inflight;
  return (latency * (inflight + 1)) / endpoint.weight;
}
