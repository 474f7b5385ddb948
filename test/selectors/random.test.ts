import { describe, expect, it } from 'vitest';
import { Random } from '../../src/selectors/random.js';
import { describeContract } from './contract.js';
import { endpoints, ids, mulberry32, sequence, tally } from './support.js';

describeContract('Random', (options) => new Random(options));

describe('Random', () => {
  it('maps random() to floor(random() × n)', () => {
    const random = new Random({ random: sequence(0, 0.34, 0.5, 0.9999, 1) });
    random.update(endpoints(['a', 'b', 'c']));
    // A source returning 1 is clamped to the last endpoint, not out of range.
    expect(ids(random, 5)).toEqual(['a', 'b', 'b', 'c', 'c']);
  });

  it('spends one random number per pick', () => {
    let calls = 0;
    const source = mulberry32(1);
    const random = new Random({
      random: () => {
        calls++;
        return source();
      },
    });
    random.update(endpoints(['a', 'b', 'c']));
    ids(random, 100);
    expect(calls).toBe(100);
  });

  it('is uniform: shares within ±1 % of 1/n over 60 000 picks', () => {
    const random = new Random({ random: mulberry32(2) });
    random.update(endpoints(['a', 'b', 'c', 'd', 'e', 'f'], { weight: [9, 1, 1, 1, 1, 1] }));
    const counts = tally(random, 60_000);
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) {
      expect(Math.abs(counts.get(id)! / 60_000 - 1 / 6)).toBeLessThan(0.01);
    }
  });

  it('stays uniform over the non-excluded endpoints', () => {
    const random = new Random({ random: mulberry32(3) });
    random.update(endpoints(['a', 'b', 'c', 'd', 'e']));
    const counts = tally(random, 30_000, { exclude: new Set(['a', 'b']) });
    for (const id of ['c', 'd', 'e']) {
      expect(Math.abs(counts.get(id)! / 30_000 - 1 / 3)).toBeLessThan(0.01);
    }
  });

  it('falls back to an exact scan when rejection keeps hitting excluded endpoints', () => {
    let calls = 0;
    const random = new Random({
      random: () => {
        calls++;
        return 0;
      },
    });
    random.update(endpoints(['a', 'b', 'c', 'd']));
    // 8 draws all land on a; then the 0th of the three eligible is taken.
    expect(random.pick({ exclude: new Set(['a']) })?.id).toBe('b');
    expect(calls).toBe(9);
  });

  it('keeps the scan uniform: every eligible endpoint is reached', () => {
    // Eight zeros make every rejection draw land on excluded a; the ninth number drives
    // the scan.
    const source = mulberry32(4);
    let call = 0;
    const random = new Random({ random: () => (call++ % 9 === 8 ? source() : 0) });
    random.update(endpoints(['a', 'b', 'c', 'd']));
    const counts = tally(random, 30_000, { exclude: new Set(['a']) });
    for (const id of ['b', 'c', 'd']) {
      expect(Math.abs(counts.get(id)! / 30_000 - 1 / 3)).toBeLessThan(0.01);
    }
  });
});
