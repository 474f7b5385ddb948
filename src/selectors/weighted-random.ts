import { checkOptions } from '../validate.js';
import { resolveRandom, validateEndpoints } from './endpoints.js';
import { REJECTION_TRIES } from './sampling.js';
import type { PickContext, Selector, SelectorEndpoint } from './selector.js';

/** Options for {@link WeightedRandom}. */
export interface WeightedRandomOptions {
  /**
   * Source of uniform numbers in [0, 1); one call per pick without `exclude`.
   * @default Math.random
   */
  readonly random?: () => number;
}

/**
 * Picks an endpoint at random with probability proportional to its weight, in O(1) per
 * pick whatever the weights: `update()` builds an alias table (Vose, "A linear algorithm
 * for generating random numbers with a given distribution", IEEE TSE 1991) in O(n), and a
 * pick spends a single random number — its integer part chooses a column, its fraction
 * chooses between the column's endpoint and its alias.
 *
 * Use it when capacities differ and clients should stay independent (no shared rotation);
 * use {@link WeightedRoundRobin} for an exact, interleaved spread from one client.
 *
 * With `exclude`, it draws up to 8 times from the table and then falls back to an exact
 * O(n) weighted choice among the non-excluded endpoints.
 *
 * @example
 * ```ts
 * const wr = new WeightedRandom();
 * wr.update([
 *   { id: 'big', weight: 3, inflight: 0, latency: 0 },
 *   { id: 'small', weight: 1, inflight: 0, latency: 0 },
 * ]);
 * wr.pick(); // 'big' three times in four, on average
 * ```
 */
export class WeightedRandom<E extends SelectorEndpoint = SelectorEndpoint> implements Selector<E> {
  readonly #random: () => number;
  #endpoints: readonly E[] = [];
  /** Column i keeps endpoint i with probability prob[i], else gives alias[i]. */
  #prob = new Float64Array(0);
  #alias = new Uint32Array(0);

  /**
   * @param options - see {@link WeightedRandomOptions}
   * @throws TypeError for an unknown option or a `random` that is not a function.
   */
  constructor(options?: WeightedRandomOptions) {
    const opts = checkOptions('WeightedRandom', options, ['random']);
    this.#random = resolveRandom('WeightedRandom', opts.random);
  }

  /**
   * Replaces the endpoint set and rebuilds the alias table, O(n). Keeps a reference to
   * `endpoints` (no copy).
   * @throws TypeError or RangeError for a bad endpoint (weight ≤ 0, NaN, infinite or not a
   *   number; a duplicate or empty id), naming the field and quoting the value.
   */
  update(endpoints: readonly E[]): void {
    validateEndpoints('WeightedRandom', endpoints);
    const n = endpoints.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += endpoints[i]!.weight;
    const prob = new Float64Array(n);
    const alias = new Uint32Array(n);
    // Vose: scale so the mean is 1, then pair each short column with a tall one.
    const scaled = new Float64Array(n);
    const small = new Uint32Array(n);
    const large = new Uint32Array(n);
    let smallCount = 0;
    let largeCount = 0;
    for (let i = 0; i < n; i++) {
      const p = (endpoints[i]!.weight * n) / total;
      scaled[i] = p;
      alias[i] = i;
      if (p < 1) small[smallCount++] = i;
      else large[largeCount++] = i;
    }
    while (smallCount > 0 && largeCount > 0) {
      const s = small[--smallCount]!;
      const l = large[--largeCount]!;
      prob[s] = scaled[s]!;
      alias[s] = l;
      const rest = scaled[l]! + scaled[s]! - 1;
      scaled[l] = rest;
      if (rest < 1) small[smallCount++] = l;
      else large[largeCount++] = l;
    }
    // Whatever is left is 1 up to rounding error.
    while (largeCount > 0) prob[large[--largeCount]!] = 1;
    while (smallCount > 0) prob[small[--smallCount]!] = 1;
    this.#prob = prob;
    this.#alias = alias;
    this.#endpoints = endpoints;
  }

  /**
   * A weight-proportional random endpoint not in `context.exclude`. O(1) without
   * `exclude`.
   * @returns `undefined` when there are no endpoints or every one is excluded.
   */
  pick(context?: PickContext<E>): E | undefined {
    const n = this.#endpoints.length;
    if (n === 0) return undefined;
    const exclude = context?.exclude;
    if (exclude === undefined || exclude.size === 0) return this.#draw(n);
    for (let attempt = 0; attempt < REJECTION_TRIES; attempt++) {
      const endpoint = this.#draw(n);
      if (!exclude.has(endpoint.id)) return endpoint;
    }
    return this.#scan(exclude);
  }

  /** One alias-table draw from one random number. */
  #draw(n: number): E {
    const u = this.#random() * n;
    // As randomIndex: >>> 0 floors and sends NaN to 0, the clamp catches the rest.
    let column = u >>> 0;
    if (column >= n) column = n - 1;
    return this.#endpoints[u - column < this.#prob[column]! ? column : this.#alias[column]!]!;
  }

  /** Exact weighted choice among the non-excluded endpoints, O(n). */
  #scan(exclude: ReadonlySet<string>): E | undefined {
    const endpoints = this.#endpoints;
    const n = endpoints.length;
    let total = 0;
    let last = -1;
    for (let i = 0; i < n; i++) {
      const endpoint = endpoints[i]!;
      if (exclude.has(endpoint.id)) continue;
      total += endpoint.weight;
      last = i;
    }
    if (last < 0) return undefined;
    let r = this.#random() * total;
    for (let i = 0; i < last; i++) {
      const endpoint = endpoints[i]!;
      if (exclude.has(endpoint.id)) continue;
      r -= endpoint.weight;
      if (r < 0) return endpoint;
    }
    // Rounding can leave r a hair above 0 at the end: the last eligible endpoint takes it.
    return endpoints[last];
  }
}
