import { describe, expect, it } from 'vitest';
import { WeightedRandom } from '../../src/selectors/weighted-random.js';
import { describeContract } from './contract.js';
import { endpoints, mulberry32, tally } from './support.js';

describeContract('WeightedRandom', (options) => new WeightedRandom(options));

const IDS = ['a', 'b', 'c', 'd', 'e', 'f'];

/** Share of each id when random() walks an even grid of `points` over [0, 1). */
function gridShares(weights: readonly number[], points: number): number[] {
  let k = 0;
  const selector = new WeightedRandom({ random: () => (k++ + 0.5) / points });
  selector.update(endpoints(IDS.slice(0, weights.length), { weight: weights }));
  const counts = tally(selector, points);
  return IDS.slice(0, weights.length).map((id) => (counts.get(id) ?? 0) / points);
}

describe('WeightedRandom', () => {
  it.each([
    [[5, 1, 1, 3]],
    [[1, 1, 1]],
    [[1, 1000]],
    [[0.1, 0.2, 0.3, 0.4]],
    [[7, 3, 9, 1, 1, 4]],
    [[1e-9, 1]],
  ])('its alias table gives weights %j their exact probabilities', (weights) => {
    // An even grid of random() values measures the table itself, free of sampling noise.
    const total = weights.reduce((sum, w) => sum + w, 0);
    const shares = gridShares(weights, 120_000);
    weights.forEach((w, i) => {
      expect(shares[i]).toBeCloseTo(w / total, 4);
    });
  });

  it('gives shares within ±1 % of w/W over 100 000 seeded picks', () => {
    const weights = [5, 1, 1, 3];
    const selector = new WeightedRandom({ random: mulberry32(7) });
    selector.update(endpoints(['a', 'b', 'c', 'd'], { weight: weights }));
    const counts = tally(selector, 100_000);
    weights.forEach((w, i) => {
      expect(Math.abs(counts.get(IDS[i]!)! / 100_000 - w / 10)).toBeLessThan(0.01);
    });
  });

  it('spends one random number per pick', () => {
    let calls = 0;
    const source = mulberry32(8);
    const selector = new WeightedRandom({
      random: () => {
        calls++;
        return source();
      },
    });
    selector.update(endpoints(['a', 'b', 'c'], { weight: [3, 2, 1] }));
    tally(selector, 500);
    expect(calls).toBe(500);
  });

  it('copes with a random() that returns exactly 1', () => {
    const selector = new WeightedRandom({ random: () => 1 });
    selector.update(endpoints(['a', 'b', 'c'], { weight: [3, 2, 1] }));
    expect(['a', 'b', 'c']).toContain(selector.pick()?.id);
  });

  it('keeps proportions among the non-excluded endpoints', () => {
    const selector = new WeightedRandom({ random: mulberry32(9) });
    selector.update(endpoints(['a', 'b', 'c', 'd'], { weight: [5, 1, 1, 3] }));
    const counts = tally(selector, 50_000, { exclude: new Set(['a']) });
    expect(counts.has('a')).toBe(false);
    expect(Math.abs(counts.get('b')! / 50_000 - 0.2)).toBeLessThan(0.01);
    expect(Math.abs(counts.get('d')! / 50_000 - 0.6)).toBeLessThan(0.01);
  });

  it('falls back to an exact weighted scan when rejection keeps failing', () => {
    // random() = 0 always draws a (column 0 keeps its own endpoint at fraction 0).
    const selector = new WeightedRandom({ random: () => 0 });
    selector.update(endpoints(['a', 'b', 'c'], { weight: [5, 1, 1] }));
    expect(selector.pick({ exclude: new Set(['a']) })?.id).toBe('b');
    // The scan itself is weighted: eight zeros force it, the ninth number drives it.
    const source = mulberry32(10);
    let call = 0;
    const forced = new WeightedRandom({ random: () => (call++ % 9 === 8 ? source() : 0) });
    forced.update(endpoints(['a', 'b', 'c', 'd'], { weight: [5, 1, 1, 3] }));
    const counts = tally(forced, 30_000, { exclude: new Set(['a']) });
    expect(Math.abs(counts.get('b')! / 30_000 - 0.2)).toBeLessThan(0.01);
    expect(Math.abs(counts.get('c')! / 30_000 - 0.2)).toBeLessThan(0.01);
    expect(Math.abs(counts.get('d')! / 30_000 - 0.6)).toBeLessThan(0.01);
  });

  it('rebuilds its table on update()', () => {
    const selector = new WeightedRandom({ random: mulberry32(11) });
    selector.update(endpoints(['a', 'b'], { weight: [1, 9] }));
    selector.update(endpoints(['a', 'b', 'c'], { weight: [8, 1, 1] }));
    const counts = tally(selector, 20_000);
    expect(Math.abs(counts.get('a')! / 20_000 - 0.8)).toBeLessThan(0.01);
  });
});
