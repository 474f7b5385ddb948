import { checkOptions } from '../validate.js';
import { resolveRandom, validateEndpoints } from './endpoints.js';
import type { PickContext, Selector, SelectorEndpoint } from './selector.js';

/** Options for {@link LeastConnections}. */
export interface LeastConnectionsOptions {
  /**
   * Source of uniform numbers in [0, 1), used to break ties: one call per tied endpoint
   * after the first.
   * @default Math.random
   */
  readonly random?: () => number;
}

/**
 * Picks the endpoint with the fewest requests in progress per unit of weight (minimum
 * `inflight / weight`). Ties are broken uniformly at random (reservoir sampling over the
 * tied endpoints), not by position, so an idle pool does not pile onto its first
 * endpoint.
 *
 * Use it when request cost varies widely (long polls, uploads) and one process owns all
 * the traffic to the endpoints. It scans every endpoint on each pick, O(n); with many
 * endpoints or many independent clients, {@link PowerOfTwoChoices} is O(1) and avoids the
 * herd that every client choosing the same global minimum can cause.
 *
 * Loads are compared by cross-multiplication (`a.inflight × b.weight` against
 * `b.inflight × a.weight`), so no division is needed and equal ratios compare equal.
 *
 * @example
 * ```ts
 * const lc = new LeastConnections();
 * lc.update([
 *   { id: 'a', weight: 2, inflight: 3, latency: 0 }, // 1.5 per unit of weight
 *   { id: 'b', weight: 1, inflight: 1, latency: 0 }, // 1
 * ]);
 * lc.pick(); // b
 * // Usually handed to a pool, which keeps `inflight` current:
 * new Pool({ endpoints: ['http://127.0.0.1:8081'], selector: new LeastConnections() });
 * ```
 */
export class LeastConnections<E extends SelectorEndpoint = SelectorEndpoint>
  implements Selector<E>
{
  readonly #random: () => number;
  #endpoints: readonly E[] = [];

  /**
   * @param options - see {@link LeastConnectionsOptions}
   * @throws TypeError for an unknown option or a `random` that is not a function.
   */
  constructor(options?: LeastConnectionsOptions) {
    const opts = checkOptions('LeastConnections', options, ['random']);
    this.#random = resolveRandom('LeastConnections', opts.random);
  }

  /**
   * Replaces the endpoint set. Keeps a reference to `endpoints` (no copy); `inflight` is
   * read from the objects at each pick, so it may change between updates.
   * @throws TypeError or RangeError for a bad endpoint (weight ≤ 0, NaN, infinite or not a
   *   number; a duplicate or empty id), naming the field and quoting the value.
   */
  update(endpoints: readonly E[]): void {
    validateEndpoints('LeastConnections', endpoints);
    this.#endpoints = endpoints;
  }

  /**
   * The non-excluded endpoint with the least `inflight / weight`, a random one among ties.
   * O(n).
   * @returns `undefined` when there are no endpoints or every one is excluded.
   */
  pick(context?: PickContext<E>): E | undefined {
    const endpoints = this.#endpoints;
    const n = endpoints.length;
    const given = context?.exclude;
    const exclude = given !== undefined && given.size > 0 ? given : undefined;
    let best: E | undefined;
    let ties = 0;
    for (let i = 0; i < n; i++) {
      const endpoint = endpoints[i]!;
      if (exclude?.has(endpoint.id)) continue;
      if (best === undefined) {
        best = endpoint;
        ties = 1;
        continue;
      }
      const mine = endpoint.inflight * best.weight;
      const theirs = best.inflight * endpoint.weight;
      if (mine < theirs) {
        best = endpoint;
        ties = 1;
      } else if (mine === theirs && this.#random() * ++ties < 1) {
        // Reservoir sampling: the t-th tied endpoint replaces the choice with chance 1/t.
        best = endpoint;
      }
    }
    return best;
  }
}
