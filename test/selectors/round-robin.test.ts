import { describe, expect, it } from 'vitest';
import { RoundRobin } from '../../src/selectors/round-robin.js';
import { describeContract } from './contract.js';
import { endpoints, ids, mulberry32, sequence, tally } from './support.js';

describeContract('RoundRobin', (options) => new RoundRobin(options));

describe('RoundRobin', () => {
  it('takes the endpoints in order from offset 0 when random() is 0', () => {
    const rr = new RoundRobin({ random: () => 0 });
    rr.update(endpoints(['a', 'b', 'c']));
    expect(ids(rr, 6)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it.each([
    [0.5, ['b', 'c', 'a', 'b']],
    [0.34, ['b', 'c', 'a', 'b']],
    [0.9999, ['c', 'a', 'b', 'c']],
    [1, ['c', 'a', 'b', 'c']], // a source returning 1 is clamped, not out of range
  ])('starts at floor(random() × n): random() = %s', (r, expected) => {
    const rr = new RoundRobin({ random: () => r });
    rr.update(endpoints(['a', 'b', 'c']));
    expect(ids(rr, 4)).toEqual(expected);
  });

  it('gives each endpoint exactly once in any n consecutive picks', () => {
    const rr = new RoundRobin({ random: mulberry32(11) });
    const set = endpoints(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    rr.update(set);
    for (let window = 0; window < 5; window++) {
      expect(ids(rr, 7).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    }
  });

  it('draws the random offset once, on the first non-empty update', () => {
    let calls = 0;
    const rr = new RoundRobin({
      random: () => {
        calls++;
        return 0;
      },
    });
    rr.update([]);
    expect(calls).toBe(0);
    rr.update(endpoints(['a', 'b', 'c']));
    ids(rr, 10);
    rr.update(endpoints(['a', 'b', 'c', 'd']));
    ids(rr, 10, { exclude: new Set(['a']) });
    expect(calls).toBe(1);
  });

  it('keeps its place in the rotation across update()', () => {
    const rr = new RoundRobin({ random: () => 0 });
    rr.update(endpoints(['a', 'b', 'c']));
    expect(ids(rr, 2)).toEqual(['a', 'b']);
    rr.update(endpoints(['a', 'b', 'c', 'd']));
    expect(ids(rr, 5)).toEqual(['c', 'd', 'a', 'b', 'c']);
    // Shrinking wraps the cursor (3 mod 2 = 1).
    rr.update(endpoints(['x', 'y']));
    expect(ids(rr, 2)).toEqual(['y', 'x']);
    // An empty interlude does not reset it either.
    rr.update([]);
    rr.update(endpoints(['p', 'q', 'r']));
    expect(ids(rr, 3)).toEqual(['q', 'r', 'p']);
  });

  it('skips excluded endpoints and moves past the one it picked', () => {
    const rr = new RoundRobin({ random: () => 0 });
    rr.update(endpoints(['a', 'b', 'c', 'd']));
    const exclude = new Set(['b']);
    expect(ids(rr, 6, { exclude })).toEqual(['a', 'c', 'd', 'a', 'c', 'd']);
    // The cursor now points after d: plain picks continue from a.
    expect(ids(rr, 2)).toEqual(['a', 'b']);
    expect(ids(rr, 2, { exclude: new Set(['c', 'd']) })).toEqual(['a', 'b']);
  });

  it('spreads evenly with exclude in play', () => {
    const rr = new RoundRobin({ random: sequence(0.7) });
    rr.update(endpoints(['a', 'b', 'c', 'd', 'e']));
    const counts = tally(rr, 400, { exclude: new Set(['c']) });
    expect(Object.fromEntries(counts)).toEqual({ a: 100, b: 100, d: 100, e: 100 });
  });
});
