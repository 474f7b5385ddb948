import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { WeightedRoundRobin } from '../../src/selectors/weighted-round-robin.js';
import { describeContract } from './contract.js';
import { endpoints, ids, mulberry32, sequence, tally } from './support.js';

describeContract('WeightedRoundRobin', (options) => new WeightedRoundRobin(options));

const NAMES = 'abcdefghijklmnopqrstuvwxyz';

/** NGINX's smooth weighted round robin, written out plainly: the reference. */
function nginx(weights: readonly number[], picks: number): string[] {
  const total = weights.reduce((sum, w) => sum + w, 0);
  const current = weights.map(() => 0);
  const out: string[] = [];
  for (let t = 0; t < picks; t++) {
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out.push(NAMES[best]!);
  }
  return out;
}

function weighted(weights: readonly number[], random: () => number = () => 0) {
  const wrr = new WeightedRoundRobin({ random });
  wrr.update(endpoints([...NAMES.slice(0, weights.length)], { weight: weights }));
  return wrr;
}

describe('WeightedRoundRobin: the smooth sequence', () => {
  it('gives a a b a c a a for weights 5, 1, 1, period after period', () => {
    const period = 'a a b a c a a'.split(' ');
    expect(ids(weighted([5, 1, 1]), 21)).toEqual([...period, ...period, ...period]);
  });

  it.each([
    [[2, 1], 'a b a'],
    [[1, 1, 1], 'a b c'],
    [[3, 2], 'a b a b a'],
    [[1, 2, 3], 'c b a c b c'],
    [[10, 5, 5], 'a b c a'], // the same as 2, 1, 1: scaling changes nothing
    [[4, 2, 1], 'a b a c a b a'],
  ])('weights %j give %s', (weights, expected) => {
    const period = expected.split(' ');
    expect(ids(weighted(weights), period.length * 2)).toEqual([...period, ...period]);
  });

  test.prop([fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 12 })], {
    numRuns: 200,
  })('matches the reference loop exactly, tie-breaks included', (weights) => {
    const total = weights.reduce((sum, w) => sum + w, 0);
    expect(ids(weighted(weights), total * 2)).toEqual(nginx(weights, total * 2));
  });

  test.prop(
    [
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 0, max: 2 ** 31 }),
    ],
    { numRuns: 100 },
  )('gives each endpoint exactly its weight in every window of Σw picks', (weights, seed) => {
    const total = weights.reduce((sum, w) => sum + w, 0);
    const picks = ids(weighted(weights, mulberry32(seed)), total * 3);
    for (let start = 0; start + total <= picks.length; start += 7) {
      const window = picks.slice(start, start + total);
      weights.forEach((w, i) => {
        expect(window.filter((id) => id === NAMES[i]).length).toBe(w);
      });
    }
  });

  it('starts at a random point of the rotation: floor(random() × period)', () => {
    // 5, 1, 1 has period 7; 0.5 × 7 = 3.5, so it starts at the fourth entry.
    expect(
      ids(
        weighted([5, 1, 1], () => 0.5),
        7,
      ),
    ).toEqual('a c a a a a b'.split(' '));
    expect(
      ids(
        weighted([5, 1, 1], () => 0.99),
        3,
      ),
    ).toEqual('a a a'.split(' '));
    expect(
      ids(
        weighted([5, 1, 1], () => 0.3),
        3,
      ),
    ).toEqual('b a c'.split(' '));
  });

  it('keeps its place across update() (position modulo the new period)', () => {
    const wrr = weighted([5, 1, 1]);
    expect(ids(wrr, 3)).toEqual(['a', 'a', 'b']);
    wrr.update(endpoints(['a', 'b', 'c'], { weight: [1, 1, 1] }));
    // Position 3 mod 3 = 0.
    expect(ids(wrr, 4)).toEqual(['a', 'b', 'c', 'a']);
    wrr.update(endpoints(['a', 'b', 'c'], { weight: [5, 1, 1] }));
    // Position 1 of a a b a c a a.
    expect(ids(wrr, 7)).toEqual('a b a c a a a'.split(' '));
  });

  it('skips excluded entries of the rotation', () => {
    expect(ids(weighted([5, 1, 1]), 10, { exclude: new Set(['b']) })).toEqual(
      'a a a c a a a a a c'.split(' '),
    );
    expect(ids(weighted([5, 1, 1]), 6, { exclude: new Set(['a']) })).toEqual(
      'b c b c b c'.split(' '),
    );
  });

  it('keeps proportions among the rest when some are excluded', () => {
    // Each period of 10 holds 6 entries that are not c: any 600 picks cover 100 periods.
    const counts = tally(weighted([3, 2, 4, 1], mulberry32(3)), 600, {
      exclude: new Set(['c', 'nope']),
    });
    expect(Object.fromEntries(counts)).toEqual({ a: 300, b: 200, d: 100 });
  });
});

describe('WeightedRoundRobin: the loop fallback', () => {
  it('handles non-integer weights with exact proportions', () => {
    const wrr = weighted([0.5, 0.25, 0.25]);
    expect(ids(wrr, 12)).toEqual(nginx([0.5, 0.25, 0.25], 12));
    const counts = tally(wrr, 400);
    expect(Object.fromEntries(counts)).toEqual({ a: 200, b: 100, c: 100 });
  });

  it('handles mixed weights like 1.5 and 1 (3 : 2)', () => {
    const picks = ids(weighted([1.5, 1]), 50);
    expect(picks).toEqual(nginx([1.5, 1], 50));
    for (let start = 0; start + 5 <= 50; start += 5) {
      expect(picks.slice(start, start + 5).filter((id) => id === 'a')).toHaveLength(3);
    }
  });

  it('handles integer weights whose period is too long to tabulate', () => {
    // Σw / gcd = 2 000 036 > 2²⁰: each pick runs the loop.
    const weights = [1_000_003, 1_000_033];
    expect(ids(weighted(weights), 300)).toEqual(nginx(weights, 300));
    const three = [1_000_003, 1_000_033, 7];
    expect(ids(weighted(three), 300)).toEqual(nginx(three, 300));
  });

  it('handles weights whose table would cost too much to build', () => {
    // 17 distinct weights and a period just under 2²⁰: over the build budget.
    const weights = Array.from({ length: 17 }, (_, i) => 61_000 + i);
    expect(ids(weighted(weights), 200)).toEqual(nginx(weights, 200));
  });

  it('handles integer weights whose sum is not a safe integer', () => {
    const weights = [2 ** 53, 2 ** 52, 1];
    expect(ids(weighted(weights), 20)).toEqual(nginx(weights, 20));
  });

  it('starts at a random point of the rotation', () => {
    // period 4 (0.5 : 0.25 : 0.25); random() = 0.5 runs the loop 2 steps ahead.
    const reference = nginx([0.5, 0.25, 0.25], 10);
    expect(
      ids(
        weighted([0.5, 0.25, 0.25], () => 0.5),
        8,
      ),
    ).toEqual(reference.slice(2, 10));
  });

  it('carries each endpoint’s state across update()', () => {
    const weights = [0.5, 0.3, 0.2];
    const wrr = weighted(weights);
    const first = ids(wrr, 7);
    wrr.update(endpoints(['a', 'b', 'c'], { weight: weights }));
    expect([...first, ...ids(wrr, 13)]).toEqual(nginx(weights, 20));
  });

  it('skips excluded endpoints, as NGINX does for peers already tried', () => {
    const wrr = weighted([0.5, 0.25, 0.25], sequence(0));
    expect(ids(wrr, 8, { exclude: new Set(['a']) })).toEqual('b c b c b c b c'.split(' '));
    expect(wrr.pick({ exclude: new Set(['a', 'b', 'c']) })).toBeUndefined();
    const counts = tally(wrr, 300, { exclude: new Set(['b']) });
    expect(Object.fromEntries(counts)).toEqual({ a: 200, c: 100 });
  });
});
