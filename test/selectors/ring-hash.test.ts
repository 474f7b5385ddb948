import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { DEFAULT_RING_VNODES, RingHash } from '../../src/selectors/ring-hash.js';
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

function ring(
  endpoints: readonly TestEndpoint[],
  options?: ConstructorParameters<typeof RingHash>[0],
) {
  const selector = new RingHash<TestEndpoint>(options);
  selector.update(endpoints);
  return selector;
}

describe('RingHash', () => {
  test('defaults to 160 virtual nodes', () => {
    expect(DEFAULT_RING_VNODES).toBe(160);
  });

  test('returns undefined with no endpoints, and the only endpoint when there is one', () => {
    const selector = new RingHash();
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
      mapping(ring(endpointsOf(ids)), keyList)
        .map(short)
        .join(' '),
    ).toBe('4 2 3 5 1 2 2');
    const weighted = ids.map((id, i) => ep(id, [1, 2, 3, 1, 1][i]));
    expect(mapping(ring(weighted), keyList).map(short).join(' ')).toBe('3 2 3 5 1 2 3');
  });

  test('is deterministic for a key', () => {
    const selector = ring(endpointsOf(TEN));
    for (const key of KEYS.slice(0, 100)) {
      expect(selector.pick({ key })?.id).toBe(selector.pick({ key })?.id);
    }
  });

  test('removing an endpoint moves only its keys; adding it back restores the mapping', () => {
    const before = mapping(ring(endpointsOf(TEN)), KEYS);
    for (const removed of TEN) {
      const after = mapping(ring(endpointsOf(TEN.filter((id) => id !== removed))), KEYS);
      let moved = 0;
      for (let i = 0; i < KEYS.length; i++) {
        if (before[i] === removed) expect(after[i]).not.toBe(removed);
        else if (after[i] !== before[i]) moved++;
      }
      expect(moved).toBe(0);
    }
    const selector = ring(endpointsOf(TEN.slice(1)));
    selector.update(endpointsOf(TEN));
    expect(mapping(selector, KEYS)).toEqual(before);
  });

  test('with unequal weights too, removing an endpoint moves only its keys', () => {
    const endpoints = TEN.map((id, i) => ep(id, [1, 3, 0.5, 2, 7, 1, 1.5, 4, 1, 2][i]));
    const before = mapping(ring(endpoints), KEYS);
    for (const removed of TEN) {
      const after = mapping(ring(endpoints.filter((e) => e.id !== removed)), KEYS);
      let moved = 0;
      for (let i = 0; i < KEYS.length; i++) {
        if (before[i] !== removed && after[i] !== before[i]) moved++;
      }
      expect(moved).toBe(0);
    }
  });

  test('changing one weight moves keys only to or from that endpoint', () => {
    const endpoints = endpointsOf(TEN);
    const before = mapping(ring(endpoints), KEYS);
    for (const weight of [0.25, 3]) {
      const changed = endpoints.map((e, i) => (i === 4 ? ep(e.id, weight) : e));
      const after = mapping(ring(changed), KEYS);
      let moved = 0;
      for (let i = 0; i < KEYS.length; i++) {
        if (after[i] !== before[i]) {
          moved++;
          expect(weight < 1 ? before[i] : after[i]).toBe(TEN[4]);
        }
      }
      expect(moved).toBeGreaterThan(0);
    }
  });

  test('keeps the consistent-selector laws of switchyard/testing', () => {
    checkSelectorLaws((random) => new RingHash({ random }), { kind: 'consistent' });
    checkSelectorLaws((random) => new RingHash({ random, loadFactor: 1.25 }), {
      kind: 'consistent',
      numRuns: 20,
    });
  });

  test('the mapping does not depend on the order of the endpoint list', () => {
    const endpoints = endpointsOf(loopbackIds(50)).map((e, i) => ({ ...e, weight: 1 + (i % 4) }));
    const expected = mapping(ring(endpoints), KEYS);
    for (const seed of [1, 2, 3]) {
      expect(mapping(ring(shuffled(endpoints, seed)), KEYS)).toEqual(expected);
    }
  });

  test.prop(
    [
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }),
      fc.nat(),
    ],
    {
      numRuns: 50,
    },
  )('order independence holds for arbitrary ids, unicode included', (ids, seed) => {
    const keyList = keys(200);
    const endpoints = ids.map((id, i) => ep(id, 1 + (i % 3)));
    expect(mapping(ring(shuffled(endpoints, seed), { vnodes: 8 }), keyList)).toEqual(
      mapping(ring(endpoints, { vnodes: 8 }), keyList),
    );
  });

  test('equal hashes are ordered by id, not by list position', () => {
    // With one point each at the same hash, every key lands on the tie.
    const [a, b] = COLLIDING_IDS;
    for (const list of [
      [ep(a), ep(b)],
      [ep(b), ep(a)],
    ]) {
      const selector = ring(list, { vnodes: 1 });
      expect(new Set(mapping(selector, keys(50)))).toEqual(new Set([b]));
      expect(selector.pick({ key: 'x', exclude: new Set([b]) })?.id).toBe(a);
    }
  });

  test('spreads keys within ±25% of the mean with equal weights', () => {
    const n = TEN.length;
    const tally = counts(ring(endpointsOf(TEN)), keys(100_000, 'k'));
    expect(tally.size).toBe(n);
    for (const count of tally.values()) {
      expect(count).toBeGreaterThan((100_000 / n) * 0.75);
      expect(count).toBeLessThan((100_000 / n) * 1.25);
    }
  });

  test('gives weights 1, 2, 3 shares roughly proportional to them', () => {
    const tally = counts(ring([ep('a', 1), ep('b', 2), ep('c', 3)]), keys(60_000, 'k'));
    for (const [id, weight] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const) {
      const expected = 10_000 * weight;
      expect(tally.get(id)).toBeGreaterThan(expected * 0.75);
      expect(tally.get(id)).toBeLessThan(expected * 1.25);
    }
  });

  test('without a key, spreads requests at random using `random`', () => {
    const selector = ring(endpointsOf(TEN), { random: seeded(7) });
    const tally = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const id = selector.pick()!.id;
      tally.set(id, (tally.get(id) ?? 0) + 1);
    }
    expect(tally.size).toBe(10);
    for (const count of tally.values()) expect(count).toBeGreaterThan(2_000 * 0.7);
    const again = ring(endpointsOf(TEN), { random: seeded(7) });
    const first = ring(endpointsOf(TEN), { random: seeded(7) });
    for (let i = 0; i < 100; i++) expect(again.pick()?.id).toBe(first.pick()?.id);
  });

  describe('exclude', () => {
    const selector = ring(endpointsOf(TEN));

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

    test('the next choice is the next distinct endpoint clockwise', () => {
      // Two endpoints: the next choice of any key is the other one.
      const two = ring([ep('a'), ep('b')]);
      for (const key of KEYS.slice(0, 50)) {
        const first = two.pick({ key })!.id;
        expect(two.pick({ key, exclude: new Set([first]) })?.id).toBe(first === 'a' ? 'b' : 'a');
      }
    });
  });

  describe('bounded loads (loadFactor)', () => {
    function cap(endpoints: readonly TestEndpoint[], loadFactor: number, e: TestEndpoint): number {
      const total = endpoints.reduce((sum, x) => sum + x.inflight, 0);
      const weight = endpoints.reduce((sum, x) => sum + x.weight, 0);
      return Math.ceil((loadFactor * (total + 1) * e.weight) / weight);
    }

    test('behaves as plain consistent hashing while no endpoint is at its cap', () => {
      const endpoints = endpointsOf(TEN);
      expect(mapping(ring(endpoints, { loadFactor: 1.25 }), KEYS)).toEqual(
        mapping(ring(endpoints), KEYS),
      );
    });

    test('sends the key to its next endpoint on the ring when its own is at its cap', () => {
      const endpoints = endpointsOf(TEN);
      const plain = ring(endpoints);
      const bounded = ring(endpoints, { loadFactor: 1.25 });
      for (const key of KEYS.slice(0, 50)) {
        const first = endpoints.find((e) => e.id === plain.pick({ key })!.id)!;
        // T = 9 on the first endpoint, 1 elsewhere: cap = ⌈1.25 × 19 / 10⌉ = 3.
        for (const e of endpoints) e.inflight = e === first ? 9 : 1;
        expect(first.inflight).toBeGreaterThanOrEqual(cap(endpoints, 1.25, first));
        const next = plain.pick({ key, exclude: new Set([first.id]) })!.id;
        expect(bounded.pick({ key })?.id).toBe(next);
        for (const e of endpoints) e.inflight = 0;
      }
    });

    test.prop(
      [
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 10, maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 10, maxLength: 10 }),
        fc.double({ min: 1.01, max: 3, noNaN: true }),
        fc.string(),
      ],
      { numRuns: 300 },
    )(
      'never picks an endpoint at its cap while one under its cap exists',
      (loads, weights, loadFactor, key) => {
        const endpoints = TEN.map((id, i) => ep(id, weights[i], loads[i]));
        const picked = ring(endpoints, { loadFactor }).pick({ key })!;
        // Caps sum to loadFactor × (T + 1) > T, so some endpoint is always under its cap.
        expect(picked.inflight).toBeLessThan(cap(endpoints, loadFactor, picked));
      },
    );

    test('with exclude, skips excluded endpoints and falls back to the key order when all the rest are full', () => {
      const endpoints = [ep('a', 1, 0), ep('b', 1, 50), ep('c', 1, 50)];
      const bounded = ring(endpoints, { loadFactor: 1.25 });
      const plain = ring(endpoints);
      for (const key of KEYS.slice(0, 30)) {
        expect(bounded.pick({ key })?.id).toBe('a');
        // Only b and c are left, both over their cap: the key's own next choice.
        const exclude = new Set(['a']);
        expect(bounded.pick({ key, exclude })?.id).toBe(plain.pick({ key, exclude })?.id);
      }
      expect(bounded.pick({ key: 'k', exclude: new Set(['a', 'b', 'c']) })).toBeUndefined();
    });
  });

  describe('validation', () => {
    test.each([
      [
        { vnodes: 0 },
        RangeError,
        /^vnodes must be an integer >= 1 and <= 65536, got 0 \(RingHash\)$/,
      ],
      [{ vnodes: -5 }, RangeError, /vnodes must be an integer >= 1 .*got -5/],
      [{ vnodes: 1.5 }, RangeError, /vnodes must be an integer .*got 1\.5/],
      [{ vnodes: Number.NaN }, RangeError, /vnodes .*got NaN/],
      [{ vnodes: 70_000 }, RangeError, /vnodes .*<= 65536, got 70000/],
      [{ vnodes: '160' }, TypeError, /vnodes must be an integer .*got "160"/],
      [
        { loadFactor: 1 },
        RangeError,
        /^loadFactor must be a finite number > 1, got 1 \(RingHash\)$/,
      ],
      [{ loadFactor: 0.5 }, RangeError, /loadFactor must be a finite number > 1, got 0\.5/],
      [{ loadFactor: Number.NaN }, RangeError, /loadFactor .*got NaN/],
      [{ loadFactor: Number.POSITIVE_INFINITY }, RangeError, /loadFactor .*got Infinity/],
      [{ loadFactor: '1.25' }, TypeError, /loadFactor .*got "1\.25"/],
      [{ random: 42 }, TypeError, /RingHash: random must be a function/],
      [
        { vnode: 100 },
        TypeError,
        /RingHash got an unknown option "vnode"; known options are "vnodes"/,
      ],
      ['fast', TypeError, /RingHash options must be an object, got "fast"/],
    ])('rejects %j', (options, type, message) => {
      expect(() => new RingHash(options as never)).toThrow(type);
      expect(() => new RingHash(options as never)).toThrow(message);
    });

    test('rejects a bad endpoint list on update and keeps the previous ring', () => {
      const selector = ring(endpointsOf(TEN));
      const before = mapping(selector, KEYS.slice(0, 100));
      expect(() => selector.update([ep('a'), ep('a')])).toThrow(
        /RingHash.update\(\): duplicate endpoint id "a"/,
      );
      expect(() => selector.update([ep('a', 0)])).toThrow(
        /weight must be a finite number > 0, got 0 \(endpoint "a"\)/,
      );
      expect(mapping(selector, KEYS.slice(0, 100))).toEqual(before);
    });

    test('rejects weights that would need more than 2^24 points', () => {
      expect(() => new RingHash().update([ep('a', 1e308), ep('b', 1)])).toThrow(
        /^RingHash.update\(\): the ring would have Infinity points \(vnodes × weight per endpoint\), more than 16777216; lower vnodes \(160\) or the weights$/,
      );
      expect(() => new RingHash({ vnodes: 1 }).update([ep('a', 2 ** 24), ep('b', 1)])).toThrow(
        /the ring would have 16777217 points/,
      );
    });

    test('rejects a ring of more than 2^24 points', () => {
      const selector = new RingHash({ vnodes: 65_536 });
      expect(() => selector.update(endpointsOf(loopbackIds(300)))).toThrow(
        /RingHash.update\(\): the ring would have 19660800 points .*lower vnodes \(65536\) or the weights/,
      );
    });
  });
});
