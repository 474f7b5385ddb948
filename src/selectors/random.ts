import { checkOptions } from '../validate.js';
import { resolveRandom, validateEndpoints } from './endpoints.js';
import { REJECTION_TRIES, randomIndex } from './sampling.js';
import type { PickContext, Selector, SelectorEndpoint } from './selector.js';

/** Options for {@link Random}. */
export interface RandomOptions {
  /**
   * Source of uniform numbers in [0, 1); one call per pick without `exclude`.
   * @default Math.random
   */
  readonly random?: () => number;
}

/**
 * Picks an endpoint uniformly at random, ignoring weights and load. Stateless between
 * picks, so independent clients need no coordination and never synchronise; the spread is
 * only statistical, though — prefer {@link PowerOfTwoChoices}, which costs one more random
 * number and avoids the loaded endpoint.
 *
 * With `exclude`, it draws up to 8 times and then falls back to choosing the k-th
 * non-excluded endpoint for a uniform k, so the pick stays exactly uniform over the
 * eligible endpoints and always terminates.
 *
 * @example
 * ```ts
 * const random = new Random();
 * random.update([
 *   { id: 'http://127.0.0.1:8081', weight: 1, inflight: 0, latency: 0 },
 *   { id: 'http://127.0.0.1:8082', weight: 1, inflight: 0, latency: 0 },
 * ]);
 * random.pick(); // either, with equal chance
 * random.pick({ exclude: new Set(['http://127.0.0.1:8081']) }); // a retry: the other one
 * ```
 */
export class Random<E extends SelectorEndpoint = SelectorEndpoint> implements Selector<E> {
  readonly #random: () => number;
  #endpoints: readonly E[] = [];

  /**
   * @param options - see {@link RandomOptions}
   * @throws TypeError for an unknown option or a `random` that is not a function.
   */
  constructor(options?: RandomOptions) {
    const opts = checkOptions('Random', options, ['random']);
    this.#random = resolveRandom('Random', opts.random);
  }

  /**
   * Replaces the endpoint set. Keeps a reference to `endpoints` (no copy).
   * @throws TypeError or RangeError for a bad endpoint (weight ≤ 0, NaN, infinite or not a
   *   number; a duplicate or empty id), naming the field and quoting the value.
   */
  update(endpoints: readonly E[]): void {
    validateEndpoints('Random', endpoints);
    this.#endpoints = endpoints;
  }

  /**
   * A uniformly random endpoint not in `context.exclude`. O(1) without `exclude`.
   * @returns `undefined` when there are no endpoints or every one is excluded.
   */
  pick(context?: PickContext<E>): E | undefined {
    const endpoints = this.#endpoints;
    const n = endpoints.length;
    if (n === 0) return undefined;
    const exclude = context?.exclude;
    if (exclude === undefined || exclude.size === 0) {
      return endpoints[randomIndex(this.#random(), n)];
    }
    return this.#pickExcluding(exclude);
  }

  /** {@link Random.pick} with a non-empty `exclude`, kept apart so pick() stays small. */
  #pickExcluding(exclude: ReadonlySet<string>): E | undefined {
    const endpoints = this.#endpoints;
    const n = endpoints.length;
    for (let attempt = 0; attempt < REJECTION_TRIES; attempt++) {
      const endpoint = endpoints[randomIndex(this.#random(), n)]!;
      if (!exclude.has(endpoint.id)) return endpoint;
    }
    // Many excluded: count the eligible, then take the k-th of them.
    let eligible = 0;
    for (let i = 0; i < n; i++) if (!exclude.has(endpoints[i]!.id)) eligible++;
    if (eligible === 0) return undefined;
    let k = randomIndex(this.#random(), eligible);
    for (let i = 0; i < n; i++) {
      const endpoint = endpoints[i]!;
      if (!exclude.has(endpoint.id) && k-- === 0) return endpoint;
    }
    return undefined;
  }
}
