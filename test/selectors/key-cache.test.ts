import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { modulo } from '../../src/selectors/hashing.js';
import {
  DEFAULT_KEY_CACHE_SIZE,
  KeyCache,
  LOOKUP_HITS_PER_MISS,
  MAX_REST_GENERATIONS,
  REST_GENERATIONS,
} from '../../src/selectors/key-cache.js';
import { Maglev } from '../../src/selectors/maglev.js';
import { Rendezvous } from '../../src/selectors/rendezvous.js';
import { RingHash } from '../../src/selectors/ring-hash.js';
import type { Selector } from '../../src/selectors/selector.js';
import { seededRandom } from '../../src/testing/index.js';
import {
  endpointsOf,
  ep,
  keys,
  loopbackIds,
  mapping,
  type TestEndpoint,
} from './hashing-helpers.js';

type Factory = (options: { keyCacheSize?: number; random: () => number }) => Selector<TestEndpoint>;

const SELECTORS: ReadonlyArray<readonly [string, Factory]> = [
  ['RingHash', (options) => new RingHash<TestEndpoint>({ vnodes: 40, ...options })],
  ['Maglev', (options) => new Maglev<TestEndpoint>({ tableSize: 1009, ...options })],
  ['Rendezvous', (options) => new Rendezvous<TestEndpoint>(options)],
];

const UNIVERSE = loopbackIds(8);
/** Few keys, so that they repeat and hit the cache. */
const KEY_POOL = ['', 'a', 'user-1', 'user-2', 'user-3', '10.1.2.3', 'ünïcødé', 'k🚀'];

type Step =
  | { op: 'update'; members: number[]; weights: number[] }
  | { op: 'pick'; key: string | undefined; exclude: number[] | undefined };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('update' as const),
      members: fc.uniqueArray(fc.nat(UNIVERSE.length - 1), { maxLength: UNIVERSE.length }),
      weights: fc.array(fc.integer({ min: 1, max: 4 }), {
        minLength: UNIVERSE.length,
        maxLength: UNIVERSE.length,
      }),
    }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      op: fc.constant('pick' as const),
      key: fc.option(fc.constantFrom(...KEY_POOL), { nil: undefined, freq: 8 }),
      exclude: fc.option(fc.uniqueArray(fc.nat(UNIVERSE.length - 1), { maxLength: 3 }), {
        nil: undefined,
        freq: 2,
      }),
    }),
  },
);

describe('KeyCache', () => {
  test('remembers an index per key and answers -1 for a key it does not hold', () => {
    const cache = new KeyCache(4);
    cache.reset(0);
    expect(cache.get('a')).toBe(-1);
    cache.set('a', 3);
    cache.set('', 0);
    expect(cache.get('a')).toBe(3);
    expect(cache.get('')).toBe(0);
    expect(cache.get('b')).toBe(-1);
  });

  test('never holds more than its limit: a new key into a full cache empties it first', () => {
    const cache = new KeyCache(4);
    cache.reset(0);
    for (let i = 0; i < 100; i++) {
      const key = `key-${i}`;
      if (cache.get(key) < 0) cache.set(key, i % 7);
      expect(cache.size).toBeLessThanOrEqual(4);
      expect(cache.size).toBe((i % 4) + 1);
      expect(cache.get(key)).toBe(i % 7);
    }
  });

  test('reset forgets every key', () => {
    const cache = new KeyCache(8);
    cache.reset(0);
    cache.set('a', 1);
    cache.reset(0);
    expect(cache.size).toBe(0);
    expect(cache.get('a')).toBe(-1);
  });

  test('rests after a generation whose hits did not pay for its misses, then tries again', () => {
    const limit = 4;
    const cache = new KeyCache(limit);
    cache.reset(LOOKUP_HITS_PER_MISS);
    // A generation of four misses and a few hits, fewer than 3 per miss.
    for (let i = 0; i < limit; i++) cache.set(`key-${i}`, i);
    for (let i = 0; i < 5; i++) expect(cache.get('key-0')).toBe(0);
    expect(cache.resting).toBe(false);
    cache.set('one-more', 9);
    expect(cache.resting).toBe(true);
    expect(cache.size).toBe(0);
    // Resting: nothing is looked up or remembered for REST_GENERATIONS × limit picks.
    for (let i = 0; i < REST_GENERATIONS * limit; i++) {
      expect(cache.resting).toBe(true);
      expect(cache.get('key-0')).toBe(-1);
      cache.set('key-0', 0);
      expect(cache.size).toBe(0);
    }
    expect(cache.resting).toBe(false);
    cache.set('key-0', 0);
    expect(cache.get('key-0')).toBe(0);
  });

  test('rests twice as long after each generation in a row that did not pay, up to a limit', () => {
    const limit = 2;
    const cache = new KeyCache(limit);
    cache.reset(LOOKUP_HITS_PER_MISS);
    let next = 0;
    /** Picks with new keys until the cache rests again; returns how long it rests. */
    const restAfterMisses = () => {
      while (!cache.resting) {
        const key = `key-${next++}`;
        if (cache.get(key) < 0) cache.set(key, 0);
      }
      let picks = 0;
      while (cache.resting) {
        const key = `key-${next++}`;
        expect(cache.get(key)).toBe(-1);
        cache.set(key, 0);
        picks++;
      }
      return picks / limit;
    };
    const rests = Array.from({ length: 5 }, restAfterMisses);
    expect(rests).toEqual([
      REST_GENERATIONS,
      2 * REST_GENERATIONS,
      4 * REST_GENERATIONS,
      MAX_REST_GENERATIONS,
      MAX_REST_GENERATIONS,
    ]);
    expect(MAX_REST_GENERATIONS).toBe(4 * REST_GENERATIONS);
    // A generation that pays brings the first rest back.
    for (let i = 0; i < limit; i++) cache.set(`hot-${i}`, i);
    for (let i = 0; i < LOOKUP_HITS_PER_MISS * limit; i++) expect(cache.get('hot-0')).toBe(0);
    expect(restAfterMisses()).toBe(REST_GENERATIONS);
    // So does reset().
    restAfterMisses();
    cache.reset(LOOKUP_HITS_PER_MISS);
    expect(cache.resting).toBe(false);
    expect(restAfterMisses()).toBe(REST_GENERATIONS);
  });

  test('keeps going while hits pay for the misses', () => {
    const limit = 4;
    const cache = new KeyCache(limit);
    cache.reset(LOOKUP_HITS_PER_MISS);
    for (let generation = 0; generation < 5; generation++) {
      for (let i = 0; i < limit; i++) cache.set(`g${generation}-${i}`, i);
      for (let i = 0; i < LOOKUP_HITS_PER_MISS * limit; i++) cache.get(`g${generation}-0`);
    }
    cache.set('next', 1);
    expect(cache.resting).toBe(false);
    expect(cache.get('next')).toBe(1);
  });

  test('with hitsPerMiss 0, never rests', () => {
    const cache = new KeyCache(2);
    cache.reset(0);
    for (let i = 0; i < 50; i++) {
      cache.set(`key-${i}`, i);
      expect(cache.resting).toBe(false);
      expect(cache.get(`key-${i}`)).toBe(i);
    }
  });
});

describe('modulo', () => {
  test.prop([fc.nat({ max: 0xffffffff }), fc.integer({ min: 1, max: 2 ** 24 })], {
    numRuns: 2000,
  })('is hash % size for any 32-bit hash and size up to 2^24', (hash, size) => {
    expect(modulo(hash, size)).toBe(hash % size);
  });

  test('on the edges: multiples of the size, their neighbours, the largest hash', () => {
    for (const size of [1, 2, 3, 7, 65_537, 655_373, 16_777_213, 2 ** 24]) {
      for (const q of [0, 1, 2, Math.floor(0xffffffff / size) - 1, Math.floor(0xffffffff / size)]) {
        for (const d of [-1, 0, 1]) {
          const hash = q * size + d;
          if (hash < 0 || hash > 0xffffffff) continue;
          expect(modulo(hash, size)).toBe(hash % size);
        }
      }
      expect(modulo(0xffffffff, size)).toBe(0xffffffff % size);
    }
  });
});

describe.each(SELECTORS)('%s key cache', (name, make) => {
  test(`defaults to ${DEFAULT_KEY_CACHE_SIZE} keys`, () => {
    expect(DEFAULT_KEY_CACHE_SIZE).toBe(4096);
  });

  test.prop([fc.array(stepArbitrary, { maxLength: 400 }), fc.integer()], { numRuns: 150 })(
    'gives the same answers with and without the cache, whatever the updates and picks',
    (steps, seed) => {
      // Tiny caches turn generations over and rest; the default one mostly hits.
      const sizes = [0, 1, 3, DEFAULT_KEY_CACHE_SIZE];
      const selectors = sizes.map((keyCacheSize) =>
        make({ keyCacheSize, random: seededRandom(seed) }),
      );
      const initial = UNIVERSE.map((id) => ep(id));
      for (const selector of selectors) selector.update(initial);
      for (const step of steps) {
        if (step.op === 'update') {
          const set = step.members.map((m) => ep(UNIVERSE[m]!, step.weights[m]));
          for (const selector of selectors) selector.update(set);
        } else {
          const context = {
            ...(step.key === undefined ? {} : { key: step.key }),
            ...(step.exclude === undefined
              ? {}
              : { exclude: new Set(step.exclude.map((m) => UNIVERSE[m]!)) }),
          };
          const [expected, ...others] = selectors.map((s) => s.pick(context)?.id);
          for (const id of others) expect(id).toBe(expected);
        }
      }
    },
  );

  test('forgets every key on update()', () => {
    const selector = make({ random: Math.random });
    const ids = loopbackIds(10);
    selector.update(endpointsOf(ids));
    const keyList = keys(2000);
    const before = mapping(selector, keyList);
    expect(mapping(selector, keyList)).toEqual(before); // now from the cache
    for (const removed of ids.slice(0, 3)) {
      const rest = ids.filter((id) => id !== removed);
      selector.update(endpointsOf(rest));
      const fresh = make({ keyCacheSize: 0, random: Math.random });
      fresh.update(endpointsOf(rest));
      const after = mapping(selector, keyList);
      expect(after).toEqual(mapping(fresh, keyList));
      expect(after).not.toContain(removed);
      selector.update(endpointsOf(ids));
      expect(mapping(selector, keyList)).toEqual(before);
    }
    // New weights, same ids: a new table, so a new mapping for some keys.
    const heavy = endpointsOf(ids).map((e, i) => (i === 0 ? ep(e.id, 5) : e));
    selector.update(heavy);
    const fresh = make({ keyCacheSize: 0, random: Math.random });
    fresh.update(heavy);
    expect(mapping(selector, keyList)).toEqual(mapping(fresh, keyList));
  });

  describe('validation', () => {
    const construct = (keyCacheSize: unknown) => () =>
      make({ keyCacheSize: keyCacheSize as number, random: Math.random });

    test.each([
      [
        -1,
        RangeError,
        new RegExp(`^keyCacheSize must be an integer >= 0 and <= 1048576, got -1 \\(${name}\\)$`),
      ],
      [1.5, RangeError, /keyCacheSize must be an integer .*got 1\.5/],
      [Number.NaN, RangeError, /keyCacheSize .*got NaN/],
      [Number.POSITIVE_INFINITY, RangeError, /keyCacheSize .*got Infinity/],
      [2 ** 20 + 1, RangeError, /keyCacheSize .*<= 1048576, got 1048577/],
      ['4096', TypeError, /keyCacheSize must be an integer .*got "4096"/],
      [null, TypeError, /keyCacheSize .*got null/],
    ])('rejects keyCacheSize %j', (value, type, message) => {
      expect(construct(value)).toThrow(type);
      expect(construct(value)).toThrow(message);
    });

    test('accepts 0 (no cache) up to 2^20', () => {
      for (const size of [0, 1, 4096, 2 ** 20]) expect(construct(size)).not.toThrow();
    });
  });
});

describe('RingHash with loadFactor', () => {
  test('does not cache: a key follows the loads', () => {
    const endpoints = endpointsOf(loopbackIds(3));
    const selector = new RingHash<TestEndpoint>({ loadFactor: 1.25, keyCacheSize: 64 });
    selector.update(endpoints);
    const first = selector.pick({ key: 'user-1' })!;
    expect(selector.pick({ key: 'user-1' })).toBe(first);
    first.inflight = 100;
    const moved = selector.pick({ key: 'user-1' })!;
    expect(moved).not.toBe(first);
    first.inflight = 0;
    expect(selector.pick({ key: 'user-1' })).toBe(first);
  });
});
