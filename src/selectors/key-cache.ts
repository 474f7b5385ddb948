import { checkNumber } from '../validate.js';

/**
 * Keys a hashing selector remembers by default (`keyCacheSize` of `RingHash`, `Maglev`
 * and `Rendezvous`): room for the hot keys of a busy service in about 100 KiB.
 * @example
 * ```ts
 * new Maglev({ keyCacheSize: 4 * DEFAULT_KEY_CACHE_SIZE }); // a larger set of hot keys
 * ```
 */
export const DEFAULT_KEY_CACHE_SIZE = 4096;

/** Largest `keyCacheSize` accepted: past this, a cache of hot keys only holds memory. */
const MAX_KEY_CACHE_SIZE = 1_048_576;

/**
 * Bytes of keys a cache holds at most (counting 2 per UTF-16 code unit): keys often come
 * from clients (a header, an address), so the count of keys alone does not bound memory.
 * @internal
 */
export const KEY_CACHE_BYTES = 1_048_576;

/** Keys longer than this (code units) are never cached: hashing them again is cheap next to holding them. @internal */
export const MAX_CACHED_KEY_LENGTH = 1024;

/**
 * After a generation that did not pay, the cache rests (stays off) for this many times
 * its size in picks; each further generation that does not pay doubles the rest, up to
 * {@link MAX_REST_GENERATIONS}. Keys that never repeat then pay for a generation of
 * misses on one pick in 65, while a cache that pays again comes back within a few
 * generations.
 * @internal
 */
export const REST_GENERATIONS = 16;

/** The longest rest, in generations. @internal */
export const MAX_REST_GENERATIONS = 64;

/**
 * Hits per miss a generation needs when a pick is one hash and a lookup (`RingHash`,
 * `Maglev`): measured, a miss (a failed `Map` lookup and an insertion) costs about 2.5
 * times what a hit saves.
 * @internal
 */
export const LOOKUP_HITS_PER_MISS = 3;

/**
 * Key → endpoint index, for the picks of a hashing selector with a key and nothing else
 * (no `exclude`, no load bound). Such a pick is a pure function of the key and the table,
 * so a remembered answer is the answer: caching changes no mapping. A hit skips hashing
 * the key and the lookup (for `Rendezvous`, the O(n) scoring); a `Map` lookup is cheap on
 * a string the engine has hashed before, since the engine keeps that hash in the string.
 *
 * Bounded by generations rather than LRU bookkeeping: when `limit` keys (or
 * {@link KEY_CACHE_BYTES} of them) are held, the next new key empties the cache first;
 * keys longer than {@link MAX_CACHED_KEY_LENGTH} are not held at all. A miss costs a failed lookup and an insertion,
 * so a generation whose hits fall short of `hitsPerMiss` × its misses (keys that rarely
 * repeat, or more hot keys than fit) turns the cache off for the next
 * {@link REST_GENERATIONS} × `limit` picks (longer after each such generation in a row),
 * after which a new generation tries again.
 * It counts picks, not time, and only ever changes how fast a pick is, never its answer.
 * @internal
 */
export class KeyCache {
  readonly #map = new Map<string, number>();
  readonly #limit: number;
  readonly #maxBytes: number;
  /** Bytes of the keys held. */
  #bytes = 0;
  /** Hits a generation needs to keep the cache on. */
  #enough = 0;
  /** Hits in this generation, counted up to `#enough`. */
  #hits = 0;
  /** Picks left to answer without the cache. */
  #bypass = 0;
  /** Generations of the next rest. */
  #rest = REST_GENERATIONS;

  /**
   * @param limit - keys held at most, ≥ 1
   * @param maxBytes - bytes of keys held at most
   */
  constructor(limit: number, maxBytes: number = KEY_CACHE_BYTES) {
    this.#limit = limit;
    this.#maxBytes = maxBytes;
  }

  /**
   * The index remembered for `key`, or -1 (always while resting): compute it, then call
   * {@link KeyCache.set}.
   */
  get(key: string): number {
    if (this.#bypass !== 0) return -1;
    const index = this.#map.get(key);
    if (index === undefined) return -1;
    if (this.#hits < this.#enough) this.#hits++;
    return index;
  }

  /** After every miss of {@link KeyCache.get}: remembers `index` for `key`. */
  set(key: string, index: number): void {
    if (this.#bypass !== 0) {
      // A resting pick: its get() missed on purpose, and it counts here.
      this.#bypass--;
      return;
    }
    if (key.length > MAX_CACHED_KEY_LENGTH) return;
    const map = this.#map;
    const bytes = 2 * key.length;
    if (map.size >= this.#limit || this.#bytes + bytes > this.#maxBytes) {
      map.clear();
      this.#bytes = 0;
      const paid = this.#hits >= this.#enough;
      this.#hits = 0;
      if (paid) {
        this.#rest = REST_GENERATIONS;
      } else {
        // This generation's misses cost more than its hits saved: rest a while.
        this.#bypass = this.#rest * this.#limit;
        this.#rest = Math.min(2 * this.#rest, MAX_REST_GENERATIONS);
        return;
      }
    }
    map.set(key, index);
    this.#bytes += bytes;
  }

  /**
   * Forgets every key (the table changed) and starts a new generation.
   * @param hitsPerMiss - hits per miss a generation needs for the cache to stay on (0:
   *   always on)
   */
  reset(hitsPerMiss: number): void {
    this.#map.clear();
    this.#bytes = 0;
    this.#enough = Math.ceil(hitsPerMiss * this.#limit);
    this.#hits = 0;
    this.#bypass = 0;
    this.#rest = REST_GENERATIONS;
  }

  /** Keys held now: at most the limit. */
  get size(): number {
    return this.#map.size;
  }

  /** Bytes of the keys held now (2 per code unit): at most {@link KEY_CACHE_BYTES}. */
  get bytes(): number {
    return this.#bytes;
  }

  /** True while the cache is off after a generation that did not pay. */
  get resting(): boolean {
    return this.#bypass !== 0;
  }
}

/**
 * Validates `keyCacheSize` and returns the cache, or `undefined` when it is 0.
 * @throws TypeError or RangeError unless the size is an integer in [0, 2^20].
 * @internal
 */
export function resolveKeyCache(owner: string, keyCacheSize: unknown): KeyCache | undefined {
  const size =
    keyCacheSize === undefined
      ? DEFAULT_KEY_CACHE_SIZE
      : checkNumber(
          'keyCacheSize',
          keyCacheSize,
          { min: 0, max: MAX_KEY_CACHE_SIZE, integer: true },
          owner,
        );
  return size === 0 ? undefined : new KeyCache(size);
}
