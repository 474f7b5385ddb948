import { describe, expect, it } from 'vitest';
import { PeakEwma } from '../../src/selectors/peak-ewma.js';
import { describeContract } from './contract.js';
import { endpoints, ids, mulberry32, sequence, tally } from './support.js';

describeContract('PeakEwma', (options) => new PeakEwma(options));

/** The winner between a (first candidate) and b (second). */
function duel(fields: Parameters<typeof endpoints>[1]): string | undefined {
  const ewma = new PeakEwma({ random: sequence(0, 0) }); // i = 0, j = 1: a, then b
  ewma.update(endpoints(['a', 'b'], fields));
  return ewma.pick()?.id;
}

describe('PeakEwma', () => {
  it.each([
    ['lower latency, both idle', { latency: [10, 4] }, 'b'],
    ['latency × (inflight + 1): 10 × 1 against 4 × 3', { latency: [10, 4], inflight: [0, 2] }, 'a'],
    ['latency × (inflight + 1): 10 × 1 against 4 × 2', { latency: [10, 4], inflight: [0, 1] }, 'b'],
    [
      'divided by weight: 10 / 2 against 8 / 1',
      { latency: [10, 4], inflight: [0, 1], weight: [2, 1] },
      'a',
    ],
    ['a tie keeps the first candidate', { latency: [10, 5], inflight: [0, 1] }, 'a'],
  ] as const)('prefers the lower cost: %s', (_label, fields, expected) => {
    expect(duel(fields)).toBe(expected);
  });

  it('tries an endpoint of unknown latency with nothing in flight (cost 0)', () => {
    expect(duel({ latency: [1, 0], inflight: [0, 0] })).toBe('b');
    expect(duel({ latency: [0.001, 0], inflight: [0, 0] })).toBe('b');
  });

  it('does not pile onto an endpoint of unknown latency that already has requests', () => {
    // Unknown latency with 1 in flight costs 2⁴⁷ + 1, far above 1 s × 51.
    expect(duel({ latency: [1000, 0], inflight: [50, 1] })).toBe('a');
    // Two unknowns: the one with fewer in flight.
    expect(duel({ latency: [0, 0], inflight: [3, 2] })).toBe('b');
    expect(duel({ latency: [0, 0], inflight: [2, 3] })).toBe('a');
  });

  it('never picks the endpoint of uniquely highest cost', () => {
    const ewma = new PeakEwma({ random: mulberry32(1) });
    ewma.update(endpoints(['fast', 'slow', 'mid'], { latency: [5, 200, 20], inflight: [2, 0, 1] }));
    const counts = tally(ewma, 5000);
    expect(counts.has('slow')).toBe(false);
    // fast (15) beats mid (40) whenever both are drawn: 2/3 of picks.
    expect(Math.abs(counts.get('fast')! / 5000 - 2 / 3)).toBeLessThan(0.03);
  });

  it('reads latency and inflight live, between updates', () => {
    const set = endpoints(['a', 'b'], { latency: [5, 50] });
    const ewma = new PeakEwma({ random: mulberry32(2) });
    ewma.update(set);
    expect(ids(ewma, 10)).toEqual(Array(10).fill('a'));
    set[0]!.latency = 500;
    expect(ids(ewma, 10)).toEqual(Array(10).fill('b'));
  });

  it('draws candidates among the non-excluded endpoints', () => {
    const ewma = new PeakEwma({ random: mulberry32(3) });
    ewma.update(endpoints(['a', 'b', 'c', 'd'], { latency: [1, 90, 10, 20] }));
    const counts = tally(ewma, 5000, { exclude: new Set(['a']) });
    expect([...counts.keys()].sort()).toEqual(['c', 'd']);
    expect(ewma.pick({ exclude: new Set(['a', 'c', 'd']) })?.id).toBe('b');
  });
});
