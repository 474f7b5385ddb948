import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { fmix32, murmur3 } from '../../src/selectors/hash.js';
import { Rendezvous } from '../../src/selectors/rendezvous.js';
import { checkSelectorLaws } from '../../src/testing/index.js';
import {
  COLLIDING_IDS,
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

function hrw(
  endpoints: readonly TestEndpoint[],
  options?: ConstructorParameters<typeof Rendezvous>[0],
) {
  const selector = new Rendezvous<TestEndpoint>(options);
  selector.update(endpoints);
  return selector;
}

/** The documented scoring, written out independently. */
function documentedWinner(endpoints: readonly TestEndpoint[], key: string): string {
  let best = '';
  let bestScore = -1;
  for (const e of endpoints) {
    const h = fmix32(murmur3(key) ^ murmur3(e.id));
    const score = -e.weight / Math.log((h + 0.5) / 2 ** 32);
    if (score > bestScore) {
      best = e.id;
      bestScore = score;
    }
  }
  return best;
}

describe('Rendezvous', () => {
  test('returns undefined with no endpoints, and the only endpoint when there is one', () => {
    const selector = new Rendezvous();
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
      mapping(hrw(endpointsOf(ids)), keyList)
        .map(short)
        .join(' '),
    ).toBe('5 5 4 3 3 4 3');
    const weighted = ids.map((id, i) => ep(id, [1, 2, 3, 1, 1][i]));
    expect(mapping(hrw(weighted), keyList).map(short).join(' ')).toBe('3 5 3 3 3 2 3');
  });

  test.prop(
    [fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 10, maxLength: 10 }), fc.string()],
    {
      numRuns: 300,
    },
  )('follows the documented score, weighted or not', (weights, key) => {
    const endpoints = TEN.map((id, i) => ep(id, weights[i]));
    expect(hrw(endpoints).pick({ key })?.id).toBe(documentedWinner(endpoints, key));
    // The equal-weight fast path (no logarithm) agrees with the weighted formula.
    const equal = endpointsOf(TEN, 3);
    expect(hrw(equal).pick({ key })?.id).toBe(documentedWinner(equal, key));
  });

  test('removing an endpoint moves only its keys; adding it back restores the mapping', () => {
    for (const weight of [undefined, 2]) {
      const endpoints = TEN.map((id, i) => ep(id, weight ?? 1 + (i % 3)));
      const before = mapping(hrw(endpoints), KEYS);
      for (const removed of TEN) {
        const after = mapping(hrw(endpoints.filter((e) => e.id !== removed)), KEYS);
        let moved = 0;
        for (let i = 0; i < KEYS.length; i++) {
          if (before[i] === removed) expect(after[i]).not.toBe(removed);
          else if (after[i] !== before[i]) moved++;
        }
        expect(moved).toBe(0);
      }
      const selector = hrw(endpoints.slice(1));
      selector.update(endpoints);
      expect(mapping(selector, KEYS)).toEqual(before);
    }
  });

  test('raising one weight moves keys only to that endpoint', () => {
    const endpoints = endpointsOf(TEN);
    const before = mapping(hrw(endpoints), KEYS);
    const heavier = endpoints.map((e, i) => (i === 3 ? ep(e.id, 2) : e));
    const after = mapping(hrw(heavier), KEYS);
    let gained = 0;
    for (let i = 0; i < KEYS.length; i++) {
      if (after[i] !== before[i]) {
        expect(after[i]).toBe(TEN[3]);
        gained++;
      }
    }
    expect(gained).toBeGreaterThan(0);
  });

  test('keeps the consistent-selector laws of switchyard/testing', () => {
    checkSelectorLaws((random) => new Rendezvous({ random }), { kind: 'consistent' });
  });

  test('the mapping does not depend on the order of the endpoint list', () => {
    const endpoints = endpointsOf(loopbackIds(50)).map((e, i) => ({ ...e, weight: 1 + (i % 4) }));
    const expected = mapping(hrw(endpoints), KEYS);
    for (const seed of [1, 2, 3]) {
      expect(mapping(hrw(shuffled(endpoints, seed)), KEYS)).toEqual(expected);
    }
  });

  test('equal scores go to the smaller id, whatever the list order', () => {
    // Same id hash, so the same score for every key.
    const [a, b] = COLLIDING_IDS;
    for (const weight of [1, 2]) {
      for (const list of [
        [ep(a, weight), ep(b, weight)],
        [ep(b, weight), ep(a, weight)],
      ]) {
        const selector = hrw(list);
        expect(new Set(mapping(selector, keys(50)))).toEqual(new Set([b]));
        expect(selector.pick({ key: 'x', exclude: new Set([b]) })?.id).toBe(a);
      }
    }
  });

  test('spreads 100 000 keys within ±5% of the mean with equal weights', () => {
    const tally = counts(hrw(endpointsOf(TEN)), keys(100_000, 'k'));
    expect(tally.size).toBe(10);
    for (const count of tally.values()) {
      expect(count).toBeGreaterThan(10_000 * 0.95);
      expect(count).toBeLessThan(10_000 * 1.05);
    }
  });

  test('gives weights 1, 2, 3 shares within ±5% of proportional', () => {
    const tally = counts(hrw([ep('a', 1), ep('b', 2), ep('c', 3)]), keys(60_000, 'k'));
    for (const [id, weight] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const) {
      expect(tally.get(id)).toBeGreaterThan(10_000 * weight * 0.95);
      expect(tally.get(id)).toBeLessThan(10_000 * weight * 1.05);
    }
  });

  test('without a key, spreads requests at random using `random`', () => {
    const selector = hrw(endpointsOf(TEN), { random: seeded(7) });
    const tally = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const id = selector.pick()!.id;
      tally.set(id, (tally.get(id) ?? 0) + 1);
    }
    expect(tally.size).toBe(10);
    for (const count of tally.values()) expect(count).toBeGreaterThan(2_000 * 0.8);
  });

  describe('exclude', () => {
    for (const weighted of [false, true]) {
      const endpoints = TEN.map((id, i) => ep(id, weighted ? 1 + (i % 3) : 1));
      const selector = hrw(endpoints);
      const label = weighted ? 'weighted' : 'equal weights';

      test(`${label}: with an empty set gives the key its first choice`, () => {
        for (const key of KEYS.slice(0, 200)) {
          expect(selector.pick({ key, exclude: new Set() })?.id).toBe(selector.pick({ key })?.id);
        }
      });

      test(`${label}: returns undefined only when every endpoint is excluded`, () => {
        expect(selector.pick({ key: 'k', exclude: new Set(TEN) })).toBeUndefined();
        expect(selector.pick({ exclude: new Set(TEN) })).toBeUndefined();
        const allButOne = new Set(TEN.slice(1));
        allButOne.add('not-an-endpoint');
        expect(selector.pick({ key: 'k', exclude: allButOne })?.id).toBe(TEN[0]);
      });

      test.prop([fc.string(), fc.subarray(TEN)], { numRuns: 200 })(
        `${label}: gives the highest-scoring endpoint not excluded, stably`,
        (key, excluded) => {
          const order = preference(selector, key, TEN.length);
          expect(new Set(order).size).toBe(TEN.length);
          const exclude = new Set(excluded);
          const picked = selector.pick({ key, exclude })?.id;
          expect(picked).toBe(order.find((id) => !exclude.has(id)));
          expect(picked).toBe(
            documentedWinner(
              endpoints.filter((e) => !exclude.has(e.id)),
              key,
            ) || undefined,
          );
        },
      );
    }
  });

  describe('validation', () => {
    test.each([
      [
        { random: 1 },
        TypeError,
        /^Rendezvous: random must be a function returning \[0, 1\), got 1$/,
      ],
      [
        { seed: 1 },
        TypeError,
        /^Rendezvous got an unknown option "seed"; known options are "keyCacheSize", "random"$/,
      ],
      [[], TypeError, /Rendezvous options must be an object, got array of 0/],
    ])('rejects %j', (options, type, message) => {
      expect(() => new Rendezvous(options as never)).toThrow(type);
      expect(() => new Rendezvous(options as never)).toThrow(message);
    });

    test('rejects a bad endpoint list on update and keeps the previous endpoints', () => {
      const selector = hrw(endpointsOf(TEN));
      const before = mapping(selector, KEYS.slice(0, 100));
      expect(() => selector.update([ep('')])).toThrow(
        /Rendezvous.update\(\): endpoints\[0\].id must be a non-empty string, got ""/,
      );
      expect(() => selector.update([ep('a', Number.POSITIVE_INFINITY)])).toThrow(
        /weight must be a finite number > 0, got Infinity/,
      );
      expect(mapping(selector, KEYS.slice(0, 100))).toEqual(before);
    });
  });
});
