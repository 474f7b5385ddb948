import { checkOptions } from '../validate.js';
import { resolveRandom, validateEndpoints } from './endpoints.js';
import { randomIndex } from './sampling.js';
import type { PickContext, Selector, SelectorEndpoint } from './selector.js';

/** Options for {@link RoundRobin}. */
export interface RoundRobinOptions {
  /**
   * Source of uniform numbers in [0, 1), used once, to choose the starting offset.
   * @default Math.random
   */
  readonly random?: () => number;
}

/**
 * Takes the endpoints in turn: over n picks of a static set of n, each endpoint exactly
 * once. Use it when endpoints are alike in capacity and requests alike in cost; prefer
 * {@link PowerOfTwoChoices} when request cost varies, {@link WeightedRoundRobin} when
 * capacity does.
 *
 * The first non-empty `update()` starts the rotation at `floor(random() × n)`, so a fleet
 * of clients does not send its first requests to the same endpoint. Later updates keep the
 * cursor (modulo the new size) rather than re-randomising, so the rotation carries on.
 *
 * @example
 * ```ts
 * const rr = new RoundRobin();
 * rr.update([
 *   { id: 'http://127.0.0.1:8081', weight: 1, inflight: 0, latency: 0 },
 *   { id: 'http://127.0.0.1:8082', weight: 1, inflight: 0, latency: 0 },
 * ]);
 * rr.pick(); // one of them, then the other, then the first again …
 * ```
 */
export class RoundRobin<E extends SelectorEndpoint = SelectorEndpoint> implements Selector<E> {
  readonly #random: () => number;
  #endpoints: readonly E[] = [];
  #cursor = 0;
  #started = false;

  /**
   * @param options - see {@link RoundRobinOptions}
   * @throws TypeError for an unknown option or a `random` that is not a function.
   */
  constructor(options?: RoundRobinOptions) {
    const opts = checkOptions('RoundRobin', options, ['random']);
    this.#random = resolveRandom('RoundRobin', opts.random);
  }

  /**
   * Replaces the endpoint set. Keeps a reference to `endpoints` (no copy); the caller must
   * not mutate the array afterwards, only pass a new one.
   * @throws TypeError or RangeError for a bad endpoint (weight ≤ 0, NaN, infinite or not a
   *   number; a duplicate or empty id), naming the field and quoting the value.
   */
  update(endpoints: readonly E[]): void {
    validateEndpoints('RoundRobin', endpoints);
    this.#endpoints = endpoints;
    const n = endpoints.length;
    if (n === 0) return;
    if (this.#started) {
      this.#cursor %= n;
    } else {
      this.#cursor = randomIndex(this.#random(), n);
      this.#started = true;
    }
  }

  /**
   * The next endpoint in turn, skipping those in `context.exclude`. O(1) without
   * `exclude`, at most n steps with it.
   * @returns `undefined` when there are no endpoints or every one is excluded.
   */
  pick(context?: PickContext<E>): E | undefined {
    const endpoints = this.#endpoints;
    const n = endpoints.length;
    if (n === 0) return undefined;
    const exclude = context?.exclude;
    let i = this.#cursor;
    if (exclude === undefined || exclude.size === 0) {
      this.#cursor = i + 1 === n ? 0 : i + 1;
      return endpoints[i];
    }
    for (let step = 0; step < n; step++) {
      const endpoint = endpoints[i]!;
      i = i + 1 === n ? 0 : i + 1;
      if (!exclude.has(endpoint.id)) {
        this.#cursor = i;
        return endpoint;
      }
    }
    return undefined;
  }
}
