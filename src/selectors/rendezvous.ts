import { checkOptions } from '../validate.js';
import { resolveRandom, validateEndpoints } from './endpoints.js';
import { fmix32, murmur3 } from './hash.js';
import { idOrder, randomPoint } from './hashing.js';
import { type KeyCache, resolveKeyCache } from './key-cache.js';
import type { PickContext, Selector, SelectorEndpoint } from './selector.js';

const TWO_POW_32 = 4294967296;

/** Options of {@link Rendezvous}. */
export interface RendezvousOptions {
  /**
   * Keys remembered with their endpoint, so a repeated key skips the O(n) scoring: an
   * integer from 0 (no cache) to 2^20. Used only by picks with a key and no `exclude`,
   * whose answer depends on the key and the endpoints alone, so it changes no mapping.
   * Emptied by `update()`, and when full before a new key goes in; turns itself off for a
   * while when keys rarely repeat (docs/guides/hashing.md). Holds on to the key strings.
   * @default {@link DEFAULT_KEY_CACHE_SIZE} (4 096)
   */
  readonly keyCacheSize?: number;
  /**
   * Source of uniform numbers in [0, 1), used only for picks without a key.
   * @default `Math.random`
   */
  readonly random?: () => number;
}

/**
 * Rendezvous, or highest-random-weight, hashing (Thaler and Ravishankar, 1998), weighted
 * by the logarithmic method (Schindelhauer and Schomaker, 2005): every endpoint scores the
 * key and the highest score wins. Removing an endpoint moves only the keys it held;
 * adding it back restores them; changing one endpoint's weight moves keys only to or from
 * that endpoint. A pick is O(n), one hash mix per endpoint.
 *
 * The mapping is stable across processes and independent of the order of the endpoint
 * list (see docs/guides/hashing.md): with k = `murmur3(key, 0)` and dᵢ = `murmur3(idᵢ, 0)`,
 * - hᵢ = `fmix32(k xor dᵢ)`, MurmurHash3's 32-bit finaliser;
 * - scoreᵢ = `−wᵢ / ln((hᵢ + 0.5) / 2^32)` (IEEE-754 doubles); when all weights are
 *   equal the logarithm is skipped and the largest hᵢ wins, which is the same order;
 * - equal scores go to the smaller id in code point order.
 *
 * Without a key a hashing selector spreads requests at random: k is drawn from `random`.
 * With `exclude`, the key gets the highest-scoring endpoint not excluded, its next choice,
 * so retries of one key are stable. Recent keys are remembered with their endpoint
 * (`keyCacheSize`), which makes a repeated key's pick O(1) and changes no mapping.
 *
 * @example
 * ```ts
 * const hrw = new Rendezvous();
 * hrw.update(endpoints);
 * const endpoint = hrw.pick({ key: tenantId });
 * ```
 */
export class Rendezvous<E extends SelectorEndpoint = SelectorEndpoint> implements Selector<E> {
  readonly #random: () => number;
  #endpoints: readonly E[] = [];
  #idHashes = new Uint32Array(0);
  #weights = new Float64Array(0);
  /** Position of each endpoint in code point order of ids, for ties. */
  #ranks = new Uint32Array(0);
  #equalWeights = true;
  /** `undefined` when `keyCacheSize` is 0. */
  readonly #keyCache: KeyCache | undefined;

  /**
   * @param options - see {@link RendezvousOptions}
   * @throws TypeError for an unknown option, a `random` that is not a function or a
   *   `keyCacheSize` that is not a number.
   * @throws RangeError when `keyCacheSize` is not an integer in [0, 2^20].
   * @example
   * ```ts
   * new Rendezvous({ random: seededRandom(1) });
   * ```
   */
  constructor(options?: RendezvousOptions) {
    const opts = checkOptions('Rendezvous', options, ['keyCacheSize', 'random']);
    this.#keyCache = resolveKeyCache('Rendezvous', opts.keyCacheSize);
    this.#random = resolveRandom('Rendezvous', opts.random);
  }

  /**
   * Hashes the endpoint ids once: O(n log n).
   * @throws TypeError or RangeError for a bad endpoint list (see `Selector.update`).
   * @example
   * ```ts
   * hrw.update([{ id: 'a', weight: 1, inflight: 0, latency: 0 }]);
   * ```
   */
  update(endpoints: readonly E[]): void {
    validateEndpoints('Rendezvous', endpoints);
    const list = endpoints.slice();
    const n = list.length;
    const idHashes = new Uint32Array(n);
    const weights = new Float64Array(n);
    const ranks = new Uint32Array(n);
    let equalWeights = true;
    for (let i = 0; i < n; i++) {
      const endpoint = list[i]!;
      idHashes[i] = murmur3(endpoint.id);
      weights[i] = endpoint.weight;
      if (endpoint.weight !== list[0]!.weight) equalWeights = false;
    }
    const order = idOrder(list);
    for (let r = 0; r < n; r++) ranks[order[r]!] = r;
    this.#endpoints = list;
    this.#idHashes = idHashes;
    this.#weights = weights;
    this.#ranks = ranks;
    this.#equalWeights = equalWeights;
    // Measured: a cache miss costs about as much as scoring 20 endpoints, and a hit saves
    // scoring all n and hashing the key (about 8 more).
    this.#keyCache?.reset(20 / (n + 8));
  }

  /**
   * The highest-scoring endpoint for the key (a random key when none is given) that is
   * not excluded.
   * @returns `undefined` only when there is no endpoint or all are excluded.
   * @example
   * ```ts
   * const retry = hrw.pick({ key: 'user-42', exclude: new Set([first.id]) });
   * ```
   */
  pick(context?: PickContext<E>): E | undefined {
    const endpoints = this.#endpoints;
    if (endpoints.length === 0) return undefined;
    const key = context?.key;
    let exclude = context?.exclude;
    if (exclude !== undefined && exclude.size === 0) exclude = undefined;
    const cache = this.#keyCache;
    if (cache !== undefined && key !== undefined && exclude === undefined) {
      let index = cache.get(key);
      if (index < 0) {
        index = this.#best(murmur3(key), undefined);
        cache.set(key, index);
      }
      return endpoints[index];
    }
    const best = this.#best(key === undefined ? randomPoint(this.#random) : murmur3(key), exclude);
    return best < 0 ? undefined : endpoints[best];
  }

  /** Index of the highest-scoring endpoint not excluded, or -1 when all are excluded. */
  #best(keyHash: number, exclude: ReadonlySet<string> | undefined): number {
    const endpoints = this.#endpoints;
    const n = endpoints.length;
    const idHashes = this.#idHashes;
    const ranks = this.#ranks;
    let best = -1;
    let bestScore = -1;
    if (this.#equalWeights) {
      for (let i = 0; i < n; i++) {
        const score = fmix32(keyHash ^ idHashes[i]!);
        if (score > bestScore || (score === bestScore && ranks[i]! < ranks[best]!)) {
          // Checked only for a would-be winner: most endpoints never reach the set.
          if (exclude?.has(endpoints[i]!.id)) continue;
          best = i;
          bestScore = score;
        }
      }
    } else {
      const weights = this.#weights;
      for (let i = 0; i < n; i++) {
        const h = fmix32(keyHash ^ idHashes[i]!);
        const score = -weights[i]! / Math.log((h + 0.5) / TWO_POW_32);
        if (score > bestScore || (score === bestScore && ranks[i]! < ranks[best]!)) {
          if (exclude?.has(endpoints[i]!.id)) continue;
          best = i;
          bestScore = score;
        }
      }
    }
    return best;
  }
}
