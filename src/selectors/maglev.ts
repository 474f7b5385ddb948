import { checkNumber, checkOptions } from '../validate.js';
import { resolveRandom, validateEndpoints } from './endpoints.js';
import { murmur3 } from './hash.js';
import { allExcluded, idOrder, indexIds, modulo } from './hashing.js';
import { type KeyCache, LOOKUP_HITS_PER_MISS, resolveKeyCache } from './key-cache.js';
import type { PickContext, Selector, SelectorEndpoint } from './selector.js';

/**
 * The table size the Maglev paper recommends (§5.3) and Envoy uses: a prime, good for up
 * to about 650 endpoints (M ≥ 100 × n).
 * @example
 * ```ts
 * new Maglev({ tableSize: 655_373 }); // a larger prime, for up to about 6 500 endpoints
 * ```
 */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65_537;

/** Largest `tableSize` accepted (2^24): a bigger table costs seconds to build. */
const MAX_TABLE_SIZE = 16_777_216;
/** Seed of an endpoint's offset in its permutation: the ASCII bytes of "magl". */
const OFFSET_SEED = 0x6d61676c;
/** Seed of an endpoint's skip in its permutation: the ASCII bytes of "skip". */
const SKIP_SEED = 0x736b6970;

/** Options of {@link Maglev}. */
export interface MaglevOptions {
  /**
   * Size M of the lookup table: a prime greater than the number of endpoints. Each
   * endpoint's share of the table differs from its weight's share by about n / M, so
   * M ≥ 100 × n is recommended (Eisenbud et al., §3.4). Memory: 2 bytes per entry
   * (4 with 65 536 endpoints or more).
   * @default {@link DEFAULT_MAGLEV_TABLE_SIZE} (65 537)
   */
  readonly tableSize?: number;
  /**
   * Keys remembered with their endpoint, so a repeated key skips hashing: an integer from
   * 0 (no cache) to 2^20. Used only by picks with a key and no `exclude`, whose answer
   * depends on the key and the table alone, so it changes no mapping. Emptied by
   * `update()`, and when full before a new key goes in; turns itself off for a while when
   * keys rarely repeat (docs/guides/hashing.md). Holds on to the key strings.
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
 * Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software
 * Network Load Balancer", NSDI 2016): a lookup table of prime size M filled from one
 * permutation per endpoint, so a pick is one hash and one array read. When an endpoint
 * leaves, its keys move and a few others do too (the paper's trade of perfect stability
 * for perfect balance and O(1) lookups).
 *
 * The table is stable across processes and independent of the order of the endpoint list
 * (see docs/guides/hashing.md):
 * - endpoints are taken in code point order of their ids;
 * - endpoint i's permutation is `offset = murmur3(id, 0x6d61676c) mod M`,
 *   `skip = murmur3(id, 0x736b6970) mod (M − 1) + 1`, position j = `(offset + j × skip) mod M`;
 * - round r = 1, 2, …: each endpoint in turn, if `r × wᵢ ≥ cᵢ × w_max` (cᵢ = entries it
 *   holds so far), takes the next empty slot of its permutation, until the table is full
 *   (Envoy's weighted population; with equal weights, the paper's Listing 1);
 * - a key goes to `table[murmur3(key, 0) mod M]`.
 *
 * Without a key a hashing selector spreads requests at random: the slot is drawn from
 * `random`. With `exclude`, the key walks the table forward from its slot to the first
 * endpoint not excluded, so retries of one key are stable. Recent keys are remembered
 * with their endpoint (`keyCacheSize`), which skips hashing a repeated key and changes no
 * mapping.
 *
 * @example
 * ```ts
 * const maglev = new Maglev();
 * maglev.update(endpoints);
 * const endpoint = maglev.pick({ key: sessionId });
 * ```
 */
export class Maglev<E extends SelectorEndpoint = SelectorEndpoint> implements Selector<E> {
  readonly #tableSize: number;
  readonly #random: () => number;
  #endpoints: readonly E[] = [];
  #indexById: ReadonlyMap<string, number> = new Map();
  /** Endpoint index per slot. */
  #table: Uint16Array | Uint32Array = new Uint16Array(0);
  /** `undefined` when `keyCacheSize` is 0. */
  readonly #keyCache: KeyCache | undefined;

  /**
   * @param options - see {@link MaglevOptions}
   * @throws TypeError for an unknown option, a `random` that is not a function or a
   *   `keyCacheSize` that is not a number.
   * @throws RangeError when `tableSize` is not a prime integer in [2, 2^24], or
   *   `keyCacheSize` not an integer in [0, 2^20].
   * @example
   * ```ts
   * new Maglev({ tableSize: 655_373 });
   * ```
   */
  constructor(options?: MaglevOptions) {
    const opts = checkOptions('Maglev', options, ['tableSize', 'keyCacheSize', 'random']);
    if (opts.tableSize === undefined) {
      this.#tableSize = DEFAULT_MAGLEV_TABLE_SIZE;
    } else {
      const size = checkNumber(
        'tableSize',
        opts.tableSize,
        { min: 2, max: MAX_TABLE_SIZE, integer: true },
        'Maglev',
      );
      if (!isPrime(size)) {
        throw new RangeError(
          `tableSize must be a prime number, got ${size} (Maglev); the next prime is ${nextPrime(size)}`,
        );
      }
      this.#tableSize = size;
    }
    this.#keyCache = resolveKeyCache('Maglev', opts.keyCacheSize);
    this.#random = resolveRandom('Maglev', opts.random);
  }

  /**
   * Rebuilds the lookup table: about M × ln M steps with equal weights.
   * @throws TypeError or RangeError for a bad endpoint list (see `Selector.update`), or
   *   when there are `tableSize` endpoints or more.
   * @example
   * ```ts
   * maglev.update([{ id: 'a', weight: 1, inflight: 0, latency: 0 }]);
   * ```
   */
  update(endpoints: readonly E[]): void {
    validateEndpoints('Maglev', endpoints);
    const n = endpoints.length;
    const size = this.#tableSize;
    if (n >= size) {
      throw new RangeError(
        `Maglev.update(): tableSize ${size} must be greater than the number of endpoints (${n}); use a prime >= ${100 * n}`,
      );
    }
    const list = endpoints.slice();
    const table = n < 0xffff ? new Uint16Array(size) : new Uint32Array(size);
    if (n > 0) populate(table, list, idOrder(list), size);
    this.#endpoints = list;
    this.#indexById = indexIds(list);
    this.#table = table;
    this.#keyCache?.reset(LOOKUP_HITS_PER_MISS);
  }

  /**
   * The endpoint in the key's slot (a random slot without a key); with `exclude`, the
   * first endpoint not excluded walking the table forward from that slot.
   * @returns `undefined` only when there is no endpoint or all are excluded.
   * @example
   * ```ts
   * const retry = maglev.pick({ key: 'user-42', exclude: new Set([first.id]) });
   * ```
   */
  pick(context?: PickContext<E>): E | undefined {
    const endpoints = this.#endpoints;
    if (endpoints.length === 0) return undefined;
    const key = context?.key;
    const exclude = context?.exclude;
    if (exclude !== undefined && exclude.size !== 0) return this.#pickExcluding(key, exclude);
    const table = this.#table;
    if (key === undefined) return endpoints[table[Math.floor(this.#random() * this.#tableSize)]!];
    const cache = this.#keyCache;
    if (cache === undefined) return endpoints[table[slotOf(key, this.#tableSize)]!];
    let index = cache.get(key);
    if (index < 0) {
      index = table[slotOf(key, this.#tableSize)]!;
      cache.set(key, index);
    }
    return endpoints[index];
  }

  /** Walks the table forward from the key's slot to the first endpoint not excluded. */
  #pickExcluding(key: string | undefined, exclude: ReadonlySet<string>): E | undefined {
    const endpoints = this.#endpoints;
    const size = this.#tableSize;
    const table = this.#table;
    let slot = key === undefined ? Math.floor(this.#random() * size) : slotOf(key, size);
    if (allExcluded(exclude, this.#indexById, endpoints.length)) return undefined;
    // Every endpoint holds at least one slot, so one lap finds the one not excluded.
    for (let step = 0; step < size; step++) {
      const endpoint = endpoints[table[slot]!]!;
      if (!exclude.has(endpoint.id)) return endpoint;
      if (++slot === size) slot = 0;
    }
    return undefined;
  }
}

/** The key's slot: `murmur3(key) mod size`. */
function slotOf(key: string, size: number): number {
  return modulo(murmur3(key), size);
}

/** Fills `table` (Eisenbud et al., Listing 1, weighted as in Envoy's maglev_lb.cc). */
function populate(
  table: Uint16Array | Uint32Array,
  list: readonly SelectorEndpoint[],
  order: Uint32Array,
  size: number,
): void {
  const n = order.length;
  const empty = table instanceof Uint16Array ? 0xffff : 0xffffffff;
  table.fill(empty);
  const position = new Uint32Array(n);
  const skip = new Uint32Array(n);
  const count = new Float64Array(n);
  const weight = new Float64Array(n);
  let maxWeight = 0;
  let equal = true;
  for (let r = 0; r < n; r++) {
    const id = list[order[r]!]!.id;
    position[r] = murmur3(id, OFFSET_SEED) % size;
    skip[r] = (murmur3(id, SKIP_SEED) % (size - 1)) + 1;
    const w = list[order[r]!]!.weight;
    weight[r] = w;
    if (r > 0 && w !== maxWeight) equal = false;
    if (w > maxWeight) maxWeight = w;
  }
  let filled = 0;
  // Every endpoint places an entry in round 1 (cᵢ = 0), and n < size: each holds a slot.
  for (let round = 1; filled < size; round++) {
    for (let r = 0; r < n && filled < size; r++) {
      // An endpoint of weight w_max places every round; one of w_max / 3, every third.
      if (!equal && round * weight[r]! < count[r]! * maxWeight) continue;
      let c = position[r]!;
      const step = skip[r]!;
      while (table[c] !== empty) {
        c += step;
        if (c >= size) c -= size;
      }
      table[c] = order[r]!;
      c += step;
      position[r] = c >= size ? c - size : c;
      count[r] = count[r]! + 1;
      filled++;
    }
  }
}

function isPrime(value: number): boolean {
  if (value < 2) return false;
  if (value % 2 === 0) return value === 2;
  for (let d = 3; d * d <= value; d += 2) if (value % d === 0) return false;
  return true;
}

function nextPrime(value: number): number {
  let candidate = value + 1;
  while (!isPrime(candidate)) candidate++;
  return candidate;
}
