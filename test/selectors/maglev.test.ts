import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { DEFAULT_MAGLEV_TABLE_SIZE, Maglev } from '../../src/selectors/maglev.js';
import { checkSelectorLaws } from '../../src/testing/index.js';
import {
  counts,
  endpointsOf,
  ep,
  keys,
  loopbackIds,
  mapping,
  preference,
  seeded,
  shuffled,
  type TestEndpoint,
} from './hashing-helpers.js';

const TEN = loopbackIds(10);
const KEYS = keys(10_000);

function maglev(
  endpoints: readonly TestEndpoint[],
  options?: ConstructorParameters<typeof Maglev>[0],
) {
  const selector = new Maglev<TestEndpoint>(options);
  selector.update(endpoints);
  return selector;
}

describe('Maglev', () => {
  test('defaults to a table of 65 537 entries', () => {
    expect(DEFAULT_MAGLEV_TABLE_SIZE).toBe(65_537);
  });

  test('returns undefined with no endpoints, and the only endpoint when there is one', () => {
    const selector = new Maglev();
    expect(selector.pick({ key: 'a' })).toBeUndefined();
    expect(selector.pick()).toBeUndefined();
    selector.update([ep('only')]);
    expect(selector.pick({ key: 'a' })?.id).toBe('only');
    expect(selector.pick()?.id).toBe('only');
    selector.update([]);
    expect(selector.pick({ key: 'a' })).toBeUndefined();
  });

  test('pins key → endpoint (a change here changes every deployed mapping)', () => {
    const ids = loopbackIds(5);
    const keyList = ['user-1', 'user-2', 'user-3', 'user-4', '10.1.2.3', '', 'ünïcødé 🚀'];
    const short = (id: string | undefined) => id?.replace(/^127\.0\.0\.(\d+):8080$/, '$1');
    expect(
      mapping(maglev(endpointsOf(ids)), keyList)
        .map(short)
        .join(' '),
    ).toBe('5 3 4 1 2 5 1');
    const weighted = ids.map((id, i) => ep(id, [1, 1, 1, 1, 8][i]));
    expect(mapping(maglev(weighted), keyList).map(short).join(' ')).toBe('5 5 4 5 5 5 1');
  });

  test('removing an endpoint moves its keys and at most 1% of the others', () => {
    const before = mapping(maglev(endpointsOf(TEN)), KEYS);
    let worst = 0;
    for (const removed of TEN) {
      const after = mapping(maglev(endpointsOf(TEN.filter((id) => id !== removed))), KEYS);
      let moved = 0;
      for (let i = 0; i < KEYS.length; i++) {
        if (before[i] === removed) expect(after[i]).not.toBe(removed);
        else if (after[i] !== before[i]) moved++;
      }
      worst = Math.max(worst, moved);
    }
    // Measured: 9 to 41 of 10 000 keys (0.1–0.4 %) with M = 65 537 and n = 10.
    expect(worst).toBeLessThanOrEqual(KEYS.length / 100);
    const selector = maglev(endpointsOf(TEN.slice(1)));
    selector.update(endpointsOf(TEN));
    expect(mapping(selector, KEYS)).toEqual(before);
  });

  test('keeps the consistent-selector laws of switchyard/testing', () => {
    // Each run builds several 65 537-entry tables: fewer runs than the default.
    checkSelectorLaws((random) => new Maglev({ random }), { kind: 'consistent', numRuns: 25 });
  });

  test('the table does not depend on the order of the endpoint list', () => {
    const endpoints = endpointsOf(loopbackIds(50)).map((e, i) => ({ ...e, weight: 1 + (i % 4) }));
    const expected = mapping(maglev(endpoints), KEYS);
    for (const seed of [1, 2, 3]) {
      expect(mapping(maglev(shuffled(endpoints, seed)), KEYS)).toEqual(expected);
    }
  });

  test.prop(
    [
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }),
      fc.nat(),
    ],
    { numRuns: 50 },
  )('order independence holds for arbitrary ids, unicode included', (ids, seed) => {
    const keyList = keys(200);
    const endpoints = ids.map((id, i) => ep(id, 1 + (i % 3)));
    expect(mapping(maglev(shuffled(endpoints, seed), { tableSize: 1009 }), keyList)).toEqual(
      mapping(maglev(endpoints, { tableSize: 1009 }), keyList),
    );
  });

  test('spreads keys within ±5% of the mean with equal weights', () => {
    const tally = counts(maglev(endpointsOf(TEN)), keys(100_000, 'k'));
    expect(tally.size).toBe(10);
    for (const count of tally.values()) {
      expect(count).toBeGreaterThan(10_000 * 0.95);
      expect(count).toBeLessThan(10_000 * 1.05);
    }
  });

  test('gives weights 1, 2, 3 shares within ±5% of proportional', () => {
    const tally = counts(maglev([ep('a', 1), ep('b', 2), ep('c', 3)]), keys(60_000, 'k'));
    for (const [id, weight] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const) {
      expect(tally.get(id)).toBeGreaterThan(10_000 * weight * 0.95);
      expect(tally.get(id)).toBeLessThan(10_000 * weight * 1.05);
    }
  });

  test('gives every endpoint a slot, even a tiny weight in a small table', () => {
    const endpoints = [ep('heavy', 1000), ep('light', 1), ep('lighter', 0.001)];
    const selector = maglev(endpoints, { tableSize: 7 });
    for (const id of ['heavy', 'light', 'lighter']) {
      const others = new Set(endpoints.map((e) => e.id).filter((x) => x !== id));
      expect(selector.pick({ key: 'k', exclude: others })?.id).toBe(id);
    }
  });

  test('without a key, spreads requests at random using `random`', () => {
    const selector = maglev(endpointsOf(TEN), { random: seeded(7) });
    const tally = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const id = selector.pick()!.id;
      tally.set(id, (tally.get(id) ?? 0) + 1);
    }
    expect(tally.size).toBe(10);
    for (const count of tally.values()) expect(count).toBeGreaterThan(2_000 * 0.8);
  });

  describe('exclude', () => {
    const selector = maglev(endpointsOf(TEN));

    test('with an empty set gives the key its first choice', () => {
      for (const key of KEYS.slice(0, 200)) {
        expect(selector.pick({ key, exclude: new Set() })?.id).toBe(selector.pick({ key })?.id);
      }
    });

    test('returns undefined only when every endpoint is excluded', () => {
      expect(selector.pick({ key: 'k', exclude: new Set(TEN) })).toBeUndefined();
      expect(selector.pick({ exclude: new Set(TEN) })).toBeUndefined();
      const allButOne = new Set(TEN.slice(1));
      allButOne.add('not-an-endpoint');
      expect(selector.pick({ key: 'k', exclude: allButOne })?.id).toBe(TEN[0]);
    });

    test.prop([fc.string(), fc.subarray(TEN)], { numRuns: 300 })(
      'gives the first endpoint of the key preference order not excluded, stably',
      (key, excluded) => {
        const order = preference(selector, key, TEN.length);
        expect(new Set(order).size).toBe(TEN.length);
        const exclude = new Set(excluded);
        const picked = selector.pick({ key, exclude })?.id;
        expect(picked).toBe(order.find((id) => !exclude.has(id)));
        expect(selector.pick({ key, exclude: new Set(excluded) })?.id).toBe(picked);
      },
    );
  });

  describe('validation', () => {
    test.each([
      [
        { tableSize: 65_536 },
        RangeError,
        /^tableSize must be a prime number, got 65536 \(Maglev\); the next prime is 65537$/,
      ],
      [
        { tableSize: 1 },
        RangeError,
        /^tableSize must be an integer >= 2 and <= 16777216, got 1 \(Maglev\)$/,
      ],
      [{ tableSize: 0 }, RangeError, /tableSize must be an integer >= 2 .*got 0/],
      [{ tableSize: 101.5 }, RangeError, /tableSize must be an integer .*got 101\.5/],
      [{ tableSize: Number.NaN }, RangeError, /tableSize .*got NaN/],
      [{ tableSize: 2 ** 25 }, RangeError, /tableSize .*<= 16777216, got 33554432/],
      [{ tableSize: '65537' }, TypeError, /tableSize must be an integer .*got "65537"/],
      [{ random: 'no' }, TypeError, /Maglev: random must be a function/],
      [
        { size: 7 },
        TypeError,
        /Maglev got an unknown option "size"; known options are "tableSize", "keyCacheSize", "random"/,
      ],
      [null, TypeError, /Maglev options must be an object, got null/],
    ])('rejects %j', (options, type, message) => {
      expect(() => new Maglev(options as never)).toThrow(type);
      expect(() => new Maglev(options as never)).toThrow(message);
    });

    test('accepts small primes', () => {
      for (const tableSize of [2, 3, 7, 1009]) {
        expect(() => new Maglev({ tableSize })).not.toThrow();
      }
    });

    test('rejects as many endpoints as table entries, and keeps the previous table', () => {
      const selector = maglev(endpointsOf(loopbackIds(5)), { tableSize: 7 });
      const before = mapping(selector, KEYS.slice(0, 100));
      expect(() => selector.update(endpointsOf(loopbackIds(7)))).toThrow(
        /^Maglev.update\(\): tableSize 7 must be greater than the number of endpoints \(7\); use a prime >= 700$/,
      );
      expect(() => selector.update([ep('a', -1)])).toThrow(
        /weight must be a finite number > 0, got -1 \(endpoint "a"\)/,
      );
      expect(mapping(selector, KEYS.slice(0, 100))).toEqual(before);
      selector.update(endpointsOf(loopbackIds(6)));
      expect(new Set(mapping(selector, KEYS.slice(0, 500))).size).toBe(6);
    });
  });
});
