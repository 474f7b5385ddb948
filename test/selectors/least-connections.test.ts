import { describe, expect, it } from 'vitest';
import { LeastConnections } from '../../src/selectors/least-connections.js';
import { describeContract } from './contract.js';
import { endpoints, ids, mulberry32, tally } from './support.js';

describeContract('LeastConnections', (options) => new LeastConnections(options));

describe('LeastConnections', () => {
  it('picks the endpoint with the fewest requests in flight', () => {
    const lc = new LeastConnections({ random: mulberry32(1) });
    lc.update(endpoints(['a', 'b', 'c'], { inflight: [3, 1, 2] }));
    expect(ids(lc, 20)).toEqual(Array(20).fill('b'));
  });

  it.each([
    [[4, 3], [4, 1], 'a'], // 1 per unit of weight against 3
    [[9, 2], [10, 2], 'a'], // 0.9 against 1
    [[0, 0.5], [1, 100], 'a'], // idle beats anything busy
    [[5, 1], [100, 1], 'a'], // 0.05 against 1
  ])('compares inflight %j per weight %j: picks %s', (inflight, weight, expected) => {
    const lc = new LeastConnections({ random: mulberry32(2) });
    lc.update(endpoints(['a', 'b'], { inflight, weight }));
    expect(lc.pick()?.id).toBe(expected);
  });

  it('treats equal ratios as ties: 2 in flight on weight 6, 1 on weight 3', () => {
    const lc = new LeastConnections({ random: mulberry32(3) });
    lc.update(endpoints(['a', 'b', 'c'], { inflight: [2, 1, 5], weight: [6, 3, 1] }));
    const counts = tally(lc, 2000);
    expect([...counts.keys()].sort()).toEqual(['a', 'b']);
  });

  it('breaks ties at random, not by position (reservoir sampling)', () => {
    const set = endpoints(['a', 'b', 'c', 'd', 'e'], { inflight: [1, 0, 5, 0, 0] });
    // random() near 1 never replaces the first tie found; 0 always takes the latest.
    const keepFirst = new LeastConnections({ random: () => 0.999 });
    keepFirst.update(set);
    expect(keepFirst.pick()?.id).toBe('b');
    const takeLast = new LeastConnections({ random: () => 0 });
    takeLast.update(set);
    expect(takeLast.pick()?.id).toBe('e');
  });

  it('spreads ties evenly: with all idle, each endpoint gets about 1/n', () => {
    const lc = new LeastConnections({ random: mulberry32(4) });
    lc.update(endpoints(['a', 'b', 'c', 'd', 'e']));
    const counts = tally(lc, 30_000);
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      expect(Math.abs(counts.get(id)! / 30_000 - 0.2)).toBeLessThan(0.01);
    }
  });

  it('reads inflight live, between updates', () => {
    const set = endpoints(['a', 'b', 'c'], { inflight: [0, 1, 1] });
    const lc = new LeastConnections({ random: mulberry32(5) });
    lc.update(set);
    expect(lc.pick()?.id).toBe('a');
    set[0]!.inflight = 4;
    set[2]!.inflight = 0;
    expect(lc.pick()?.id).toBe('c');
  });

  it('takes the least loaded among the non-excluded', () => {
    const lc = new LeastConnections({ random: mulberry32(6) });
    lc.update(endpoints(['a', 'b', 'c', 'd'], { inflight: [0, 3, 1, 2] }));
    expect(lc.pick({ exclude: new Set(['a']) })?.id).toBe('c');
    expect(lc.pick({ exclude: new Set(['a', 'c']) })?.id).toBe('d');
    expect(lc.pick({ exclude: new Set(['a', 'c', 'd']) })?.id).toBe('b');
  });
});
