import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { PowerOfTwoChoices } from '../../src/selectors/power-of-two-choices.js';
import { describeContract } from './contract.js';
import { endpoints, ids, mulberry32, sequence, tally } from './support.js';

describeContract('PowerOfTwoChoices', (options) => new PowerOfTwoChoices(options));

describe('PowerOfTwoChoices', () => {
  it('draws two distinct candidates: i = ⌊r₁n⌋, j = ⌊r₂(n−1)⌋, j + 1 when j ≥ i', () => {
    // Loads make the winner show which two were drawn: the lower load wins.
    const set = endpoints(['a', 'b', 'c'], { inflight: [3, 2, 1] });
    const cases: Array<[number, number, string]> = [
      [0, 0, 'b'], // i = 0, j = 0 → 1: a against b
      [0, 0.99, 'c'], // i = 0, j = 1 → 2: a against c
      [0.5, 0, 'b'], // i = 1, j = 0: b against a
      [0.5, 0.5, 'c'], // i = 1, j = 1 → 2: b against c
      [0.99, 0, 'c'], // i = 2, j = 0: c against a
      [0.99, 0.99, 'c'], // i = 2, j = 1: c against b
    ];
    for (const [r1, r2, expected] of cases) {
      const p2c = new PowerOfTwoChoices({ random: sequence(r1, r2) });
      p2c.update(set);
      expect([r1, r2, p2c.pick()?.id]).toEqual([r1, r2, expected]);
    }
  });

  it('keeps the first candidate on a tie', () => {
    const set = endpoints(['a', 'b', 'c']);
    for (const [r1, expected] of [
      [0, 'a'],
      [0.5, 'b'],
      [0.99, 'c'],
    ] as const) {
      const p2c = new PowerOfTwoChoices({ random: sequence(r1, 0.5) });
      p2c.update(set);
      expect(p2c.pick()?.id).toBe(expected);
    }
  });

  it('compares inflight per unit of weight', () => {
    const p2c = new PowerOfTwoChoices({ random: mulberry32(1) });
    p2c.update(endpoints(['a', 'b'], { inflight: [2, 1], weight: [4, 1] }));
    expect(ids(p2c, 20)).toEqual(Array(20).fill('a'));
  });

  it('never picks a unique most-loaded endpoint: inflight 10, 0, 0', () => {
    const p2c = new PowerOfTwoChoices({ random: mulberry32(2) });
    p2c.update(endpoints(['a', 'b', 'c'], { inflight: [10, 0, 0] }));
    const counts = tally(p2c, 10_000);
    expect(counts.has('a')).toBe(false);
    expect(counts.get('b')! + counts.get('c')!).toBe(10_000);
    expect(Math.abs(counts.get('b')! / 10_000 - 0.5)).toBeLessThan(0.02);
  });

  test.prop(
    [
      fc.array(fc.nat({ max: 20 }), { minLength: 2, maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 12, maxLength: 12 }),
      fc.integer(),
    ],
    { numRuns: 200 },
  )('never picks the endpoint with the unique highest inflight / weight', (inflight, w, seed) => {
    const weight = w.slice(0, inflight.length);
    const loads = inflight.map((x, i) => x / weight[i]!);
    const top = Math.max(...loads);
    fc.pre(loads.filter((load) => load === top).length === 1);
    const names = inflight.map((_, i) => `e${i}`);
    const p2c = new PowerOfTwoChoices({ random: mulberry32(seed) });
    p2c.update(endpoints(names, { inflight, weight }));
    expect(ids(p2c, 200)).not.toContain(names[loads.indexOf(top)]);
  });

  it('spreads evenly when loads are equal', () => {
    const p2c = new PowerOfTwoChoices({ random: mulberry32(3) });
    p2c.update(endpoints(['a', 'b', 'c', 'd']));
    const counts = tally(p2c, 40_000);
    for (const id of ['a', 'b', 'c', 'd']) {
      expect(Math.abs(counts.get(id)! / 40_000 - 0.25)).toBeLessThan(0.01);
    }
  });

  it('returns the only endpoint, however loaded', () => {
    const p2c = new PowerOfTwoChoices({ random: mulberry32(4) });
    p2c.update(endpoints(['a'], { inflight: [99] }));
    expect(p2c.pick()?.id).toBe('a');
  });

  it('draws candidates among the non-excluded endpoints', () => {
    const p2c = new PowerOfTwoChoices({ random: mulberry32(5) });
    p2c.update(endpoints(['a', 'b', 'c', 'd'], { inflight: [0, 9, 5, 7] }));
    // a excluded: of b, c, d the most loaded (b) can never win.
    const counts = tally(p2c, 5000, { exclude: new Set(['a']) });
    expect([...counts.keys()].sort()).toEqual(['c', 'd']);
    // Only one left: returned even though it is the most loaded.
    expect(p2c.pick({ exclude: new Set(['a', 'c', 'd']) })?.id).toBe('b');
  });

  it('falls back to an exact draw when rejection keeps hitting excluded endpoints', () => {
    // random() = 0 draws a every time; a is excluded, so the exact path lists b, c, d
    // and draws positions 0 and 0 → 1 of that list: b against c.
    const p2c = new PowerOfTwoChoices({ random: () => 0 });
    p2c.update(endpoints(['a', 'b', 'c', 'd'], { inflight: [0, 2, 1, 0] }));
    expect(p2c.pick({ exclude: new Set(['a']) })?.id).toBe('c');
    // The second candidate can be forced to fail too: n = 2 with b excluded leaves only a.
    const two = new PowerOfTwoChoices({ random: () => 0 });
    two.update(endpoints(['a', 'b']));
    expect(two.pick({ exclude: new Set(['b']) })?.id).toBe('a');
  });

  it('keeps the exact draw uniform over pairs of eligible endpoints', () => {
    // Every draw in rejection lands on excluded a (random() = 0), then the exact draw
    // uses the next two numbers; equal loads make the first candidate win.
    const source = mulberry32(6);
    let call = 0;
    const p2c = new PowerOfTwoChoices({ random: () => (call++ % 10 >= 8 ? source() : 0) });
    p2c.update(endpoints(['a', 'b', 'c', 'd']));
    const counts = tally(p2c, 30_000, { exclude: new Set(['a']) });
    for (const id of ['b', 'c', 'd']) {
      expect(Math.abs(counts.get(id)! / 30_000 - 1 / 3)).toBeLessThan(0.01);
    }
  });
});
