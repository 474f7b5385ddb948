import { checkOptions } from '../validate.js';
import { resolveRandom, validateEndpoints } from './endpoints.js';
import type { PickContext, Selector, SelectorEndpoint } from './selector.js';
import { TwoChoiceSampler } from './two-choices.js';

/** Options for {@link PowerOfTwoChoices}. */
export interface PowerOfTwoChoicesOptions {
  /**
   * Source of uniform numbers in [0, 1); two calls per pick without `exclude`.
   * @default Math.random
   */
  readonly random?: () => number;
}

/**
 * Draws two distinct endpoints at random and picks the one with fewer requests in
 * progress per unit of weight (lower `inflight / weight`; the first drawn on a tie).
 *
 * Choosing the better of two random candidates brings the maximum load down from
 * Θ(log n / log log n) to Θ(log log n) (Mitzenmacher, "The Power of Two Choices in
 * Randomized Load Balancing", IEEE TPDS 2001), at O(1) per pick, and unlike picking the
 * global minimum it does not make many independent clients stampede onto the same idle
 * endpoint. A good default when request cost varies. Because the candidates are distinct,
 * it never picks the unique most-loaded endpoint when there are two or more.
 *
 * With `exclude`, candidates are drawn among the non-excluded endpoints (by rejection,
 * then exactly); if only one endpoint is eligible, it is returned.
 *
 * @example
 * ```ts
 * const p2c = new PowerOfTwoChoices();
 * p2c.update([
 *   { id: 'a', weight: 1, inflight: 9, latency: 0 },
 *   { id: 'b', weight: 1, inflight: 0, latency: 0 },
 *   { id: 'c', weight: 1, inflight: 1, latency: 0 },
 * ]);
 * p2c.pick(); // b or c, never a
 * // Usually handed to a pool, which keeps `inflight` current:
 * new Pool({ endpoints: ['http://127.0.0.1:8081'], selector: new PowerOfTwoChoices() });
 * ```
 */
export class PowerOfTwoChoices<E extends SelectorEndpoint = SelectorEndpoint>
  implements Selector<E>
{
  readonly #sampler: TwoChoiceSampler;
  #endpoints: readonly E[] = [];

  /**
   * @param options - see {@link PowerOfTwoChoicesOptions}
   * @throws TypeError for an unknown option or a `random` that is not a function.
   */
  constructor(options?: PowerOfTwoChoicesOptions) {
    const opts = checkOptions('PowerOfTwoChoices', options, ['random']);
    this.#sampler = new TwoChoiceSampler(resolveRandom('PowerOfTwoChoices', opts.random));
  }

  /**
   * Replaces the endpoint set. Keeps a reference to `endpoints` (no copy); `inflight` is
   * read from the objects at each pick.
   * @throws TypeError or RangeError for a bad endpoint (weight ≤ 0, NaN, infinite or not a
   *   number; a duplicate or empty id), naming the field and quoting the value.
   */
  update(endpoints: readonly E[]): void {
    validateEndpoints('PowerOfTwoChoices', endpoints);
    this.#sampler.reserve(endpoints.length);
    this.#endpoints = endpoints;
  }

  /**
   * The less loaded of two distinct random non-excluded endpoints. O(1) without
   * `exclude`.
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
    // b.inflight / b.weight < a.inflight / a.weight, without dividing.
    return b.inflight * a.weight < a.inflight * b.weight ? b : a;
  }
}
