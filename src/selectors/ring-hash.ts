import { checkNumber, checkOptions } from '../validate.js';
import { resolveRandom, validateEndpoints } from './endpoints.js';
import { murmur3 } from './hash.js';
import { allExcluded, idOrder, indexIds, randomPoint } from './hashing.js';
import { type KeyCache, LOOKUP_HITS_PER_MISS, resolveKeyCache } from './key-cache.js';
import type { PickContext, Selector, SelectorEndpoint } from './selector.js';

/**
 * Virtual nodes per unit of weight, as in ketama and NGINX's `hash … consistent`.
 * @example
 * ```ts
 * new RingHash({ vnodes: 2 * DEFAULT_RING_VNODES }); // smoother spread, twice the memory
 * ```
 */
export const DEFAULT_RING_VNODES = 160;

/** Largest `vnodes` accepted. */
const MAX_VNODES = 65_536;
/** Points are packed as `hash × 2^21 + rank` into a double, so ranks need 21 bits. */
const RANK_SCALE = 2 ** 21;
/** A ring this large takes 256 MiB while it is built: past that, lower `vnodes` or the weights. */
const MAX_POINTS = 2 ** 24;

/** Options of {@link RingHash}. */
export interface RingHashOptions {
  /**
   * Virtual nodes (points on the ring) per unit of weight: endpoint i gets
   * `max(1, round(vnodes × wᵢ))` points, as NGINX gives 160 × weight. The count depends on
   * the endpoint's own weight only, so changing the set or another endpoint's weight
   * never moves a point. More points spread keys more evenly (an endpoint's share varies
   * by about `1 / √points`) and cost memory (8 bytes per point, 16 while building) and
   * build time; the whole ring is limited to 2^24 points, so keep weights small (1 to a
   * few dozen) or lower `vnodes` for large ones.
   * @default {@link DEFAULT_RING_VNODES} (160)
   */
  readonly vnodes?: number;
  /**
   * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, 2018): no
   * endpoint takes a request while it has `⌈loadFactor × (T + 1) × wᵢ / W⌉` or more in
   * flight, T being the total in flight; the key moves on clockwise to the next endpoint
   * under its cap. Must be > 1 (1.25 is a common choice). Costs an O(n) sum of `inflight`
   * per pick.
   * @default `undefined` (no bound: plain consistent hashing)
   */
  readonly loadFactor?: number;
  /**
   * Keys remembered with their endpoint, so a repeated key skips hashing and the search:
   * an integer from 0 (no cache) to 2^20. Used only by picks with a key, no `exclude` and
   * no `loadFactor` (not at all with `loadFactor`), whose answer depends on the key and
   * the ring alone, so it changes no mapping. Emptied by `update()`, and when full before
   * a new key goes in; turns itself off for a while when keys rarely repeat
   * (docs/guides/hashing.md). Holds on to the key strings.
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
 * Consistent hashing on a ring of virtual nodes (Karger et al., STOC 1997), weighted by
 * the number of points, with optional bounded loads (Mirrokni, Thorup, Zadimoghaddam,
 * 2018). Removing an endpoint moves only the keys it held and adding it back restores
 * them; changing one endpoint's weight moves keys only to or from that endpoint.
 *
 * The mapping is stable across processes and independent of the order of the endpoint
 * list (see docs/guides/hashing.md):
 * - the endpoint with id `id` and weight w has `max(1, round(vnodes × w))` points;
 * - its point j (j = 0, 1, …) sits at `murmur3(id, j)`, the MurmurHash3_x86_32 of the
 *   id's UTF-8 bytes with seed j;
 * - points sort by hash, then by id in code point order;
 * - a key goes to the first point whose hash is ≥ `murmur3(key, 0)`, wrapping to the
 *   first point of the ring.
 *
 * Without a key a hashing selector spreads requests at random: the point is drawn from
 * `random`. With `exclude`, the key gets its next distinct endpoint clockwise, so retries
 * of one key are stable. Pick cost: one hash of the key and a binary search; with
 * `loadFactor`, an O(n) sum of `inflight` as well. Without `loadFactor`, recent keys are
 * remembered with their endpoint (`keyCacheSize`), which skips both for a repeated key
 * and changes no mapping.
 *
 * @example
 * ```ts
 * const ring = new RingHash({ loadFactor: 1.25 });
 * ring.update(endpoints);
 * const endpoint = ring.pick({ key: clientIp });
 * ```
 */
export class RingHash<E extends SelectorEndpoint = SelectorEndpoint> implements Selector<E> {
  readonly #vnodes: number;
  /** 0 when loads are not bounded. */
  readonly #loadFactor: number;
  readonly #random: () => number;
  #endpoints: readonly E[] = [];
  #indexById: ReadonlyMap<string, number> = new Map();
  /** Weights as of the last update, so the caps agree with the ring. */
  #weights = new Float64Array(0);
  #totalWeight = 0;
  /** Point hashes, ascending. */
  #hashes = new Uint32Array(0);
  /** `#owners[k]` is the index in `#endpoints` of the endpoint owning point k. */
  #owners = new Uint32Array(0);
  /**
   * `#buckets[b]` is the first point whose hash has top bits ≥ b: a lookup searches only
   * the few points of its key's bucket instead of the whole ring.
   */
  #buckets = new Uint32Array(3);
  /** 32 − the number of top hash bits (1 to 20) indexing `#buckets`. */
  #shift = 31;
  /** `undefined` when `keyCacheSize` is 0 or loads are bounded. */
  readonly #keyCache: KeyCache | undefined;

  /**
   * @param options - see {@link RingHashOptions}
   * @throws TypeError for an unknown option, a `random` that is not a function, or a
   *   `vnodes`, `loadFactor` or `keyCacheSize` that is not a number.
   * @throws RangeError when `vnodes` is not an integer in [1, 65536], `loadFactor` not a
   *   finite number > 1, or `keyCacheSize` not an integer in [0, 2^20].
   * @example
   * ```ts
   * new RingHash({ vnodes: 200 });
   * ```
   */
  constructor(options?: RingHashOptions) {
    const opts = checkOptions('RingHash', options, [
      'vnodes',
      'loadFactor',
      'keyCacheSize',
      'random',
    ]);
    this.#vnodes =
      opts.vnodes === undefined
        ? DEFAULT_RING_VNODES
        : checkNumber(
            'vnodes',
            opts.vnodes,
            { min: 1, max: MAX_VNODES, integer: true },
            'RingHash',
          );
    this.#loadFactor =
      opts.loadFactor === undefined
        ? 0
        : checkNumber('loadFactor', opts.loadFactor, { min: 1, minExclusive: true }, 'RingHash');
    const keyCache = resolveKeyCache('RingHash', opts.keyCacheSize);
    // With bounded loads the answer depends on `inflight` too: nothing to remember.
    this.#keyCache = this.#loadFactor === 0 ? keyCache : undefined;
    this.#random = resolveRandom('RingHash', opts.random);
  }

  /**
   * Rebuilds the ring: O(P log P) for P = Σ max(1, round(vnodes × wᵢ)) points.
   * @throws TypeError or RangeError for a bad endpoint list (see `Selector.update`), more
   *   than 2^21 − 1 endpoints, or a ring of more than 2^24 points (vnodes × weights too
   *   large).
   * @example
   * ```ts
   * ring.update([{ id: 'a', weight: 1, inflight: 0, latency: 0 }]);
   * ```
   */
  update(endpoints: readonly E[]): void {
    validateEndpoints('RingHash', endpoints);
    const n = endpoints.length;
    if (n >= RANK_SCALE) {
      throw new RangeError(`RingHash.update(): at most ${RANK_SCALE - 1} endpoints, got ${n}`);
    }
    const list = endpoints.slice();
    const order = idOrder(list);
    const counts = new Uint32Array(n);
    const weights = new Float64Array(n);
    let total = 0;
    let points = 0;
    for (let i = 0; i < n; i++) {
      const weight = list[i]!.weight;
      weights[i] = weight;
      total += weight;
      // Not relative to the other weights: a removed endpoint takes only its own points.
      const count = Math.max(1, Math.round(this.#vnodes * weight));
      counts[i] = count;
      points += count;
    }
    if (!(points <= MAX_POINTS)) {
      throw new RangeError(
        `RingHash.update(): the ring would have ${points} points (vnodes × weight per endpoint), more than ${MAX_POINTS}; lower vnodes (${this.#vnodes}) or the weights`,
      );
    }
    // Sorting packed doubles (a typed-array numeric sort) is several times faster than
    // sorting objects; the rank in the low bits orders equal hashes by id.
    const packed = new Float64Array(points);
    let k = 0;
    for (let rank = 0; rank < n; rank++) {
      const i = order[rank]!;
      const id = list[i]!.id;
      const count = counts[i]!;
      for (let j = 0; j < count; j++) packed[k++] = murmur3(id, j) * RANK_SCALE + rank;
    }
    packed.sort();
    const hashes = new Uint32Array(points);
    const owners = new Uint32Array(points);
    for (k = 0; k < points; k++) {
      const value = packed[k]!;
      const rank = value % RANK_SCALE;
      hashes[k] = (value - rank) / RANK_SCALE;
      owners[k] = order[rank]!;
    }
    // About four points per bucket; 2 to 2^20 buckets (4 MiB).
    let bits = 1;
    while (bits < 20 && 2 ** (bits + 2) < points) bits++;
    const shift = 32 - bits;
    const buckets = new Uint32Array(2 ** bits + 1);
    let b = 0;
    for (k = 0; k < points; k++) {
      const top = hashes[k]! >>> shift;
      while (b <= top) buckets[b++] = k;
    }
    while (b < buckets.length) buckets[b++] = points;
    this.#endpoints = list;
    this.#indexById = indexIds(list);
    this.#weights = weights;
    this.#totalWeight = total;
    this.#hashes = hashes;
    this.#owners = owners;
    this.#buckets = buckets;
    this.#shift = shift;
    this.#keyCache?.reset(LOOKUP_HITS_PER_MISS);
  }

  /**
   * The endpoint owning the first point clockwise from the key's hash (a random point
   * without a key), skipping excluded endpoints and, with `loadFactor`, endpoints at their
   * cap. When every endpoint not excluded is at its cap, the key's first endpoint not
   * excluded.
   * @returns `undefined` only when there is no endpoint or all are excluded.
   * @example
   * ```ts
   * const retry = ring.pick({ key: 'user-42', exclude: new Set([first.id]) });
   * ```
   */
  pick(context?: PickContext<E>): E | undefined {
    const endpoints = this.#endpoints;
    const n = endpoints.length;
    if (n === 0) return undefined;
    const key = context?.key;
    let exclude = context?.exclude;
    if (exclude !== undefined && exclude.size === 0) exclude = undefined;
    const cache = this.#keyCache;
    if (cache !== undefined && key !== undefined && exclude === undefined) {
      let index = cache.get(key);
      if (index < 0) {
        index = this.#owners[this.#find(murmur3(key))]!;
        cache.set(key, index);
      }
      return endpoints[index];
    }
    if (exclude !== undefined && allExcluded(exclude, this.#indexById, n)) return undefined;
    const at = this.#find(key === undefined ? randomPoint(this.#random) : murmur3(key));
    if (exclude === undefined && this.#loadFactor === 0) return endpoints[this.#owners[at]!];
    return this.#walk(at, exclude);
  }

  /** The first point ≥ `point`, wrapping to the first point of the ring. */
  #find(point: number): number {
    const hashes = this.#hashes;
    // Points of earlier buckets are < point and points of later ones are > point, so the
    // first point ≥ point lies in this bucket or is the first point after it.
    const bucket = point >>> this.#shift;
    let lo = this.#buckets[bucket]!;
    let hi = this.#buckets[bucket + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid]! < point) lo = mid + 1;
      else hi = mid;
    }
    return lo === hashes.length ? 0 : lo;
  }

  /** Clockwise from point `at` to the first eligible endpoint. */
  #walk(at: number, exclude: ReadonlySet<string> | undefined): E | undefined {
    const endpoints = this.#endpoints;
    const owners = this.#owners;
    const length = owners.length;
    const loadFactor = this.#loadFactor;
    let scale = 0;
    if (loadFactor !== 0) {
      let inflight = 0;
      for (let i = 0; i < endpoints.length; i++) inflight += endpoints[i]!.inflight;
      // cap_i = ⌈loadFactor × (T + 1) × w_i / W⌉: the +1 counts the request being placed.
      scale = (loadFactor * (inflight + 1)) / this.#totalWeight;
    }
    const weights = this.#weights;
    let fallback: E | undefined;
    for (let step = 0; step < length; step++) {
      const owner = owners[at]!;
      const endpoint = endpoints[owner]!;
      if (exclude === undefined || !exclude.has(endpoint.id)) {
        if (loadFactor === 0) return endpoint;
        if (endpoint.inflight < Math.ceil(scale * weights[owner]!)) return endpoint;
        fallback ??= endpoint;
      }
      if (++at === length) at = 0;
    }
    return fallback;
  }
}
