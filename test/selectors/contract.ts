import { describe, expect, it, vi } from 'vitest';
import type { Selector } from '../../src/selectors/selector.js';
import { BAD_ENDPOINTS, endpoints, ids, mulberry32, tally } from './support.js';

type Factory = (options?: { random?: () => number }) => Selector;

/**
 * The checks every non-hashing selector shares: option and endpoint validation, the empty
 * set, `exclude`, re-updates and determinism. Each selector's own file adds the
 * behaviour specific to its algorithm.
 */
export function describeContract(name: string, create: Factory): void {
  const make = create as (options?: unknown) => Selector;

  describe(`${name}: shared contract`, () => {
    it('rejects an unknown option, naming it', () => {
      expect(() => make({ seed: 1 })).toThrow(TypeError);
      expect(() => make({ seed: 1 })).toThrow(
        new RegExp(`^${name} got an unknown option "seed"; known options are "random"$`),
      );
    });

    it('rejects options that are not an object', () => {
      expect(() => make('fast')).toThrow(/options must be an object, got "fast"/);
    });

    it('rejects a random that is not a function, quoting it', () => {
      expect(() => make({ random: 42 })).toThrow(TypeError);
      expect(() => make({ random: 42 })).toThrow(/random must be a function .*got 42/);
      expect(() => make({ random: 'x' })).toThrow(/random must be a function .*got "x"/);
    });

    it.each(BAD_ENDPOINTS)('rejects %s on update()', (_label, bad, message, type) => {
      const selector = make({ random: mulberry32(1) });
      expect(() => selector.update(bad as never)).toThrow(type);
      expect(() => selector.update(bad as never)).toThrow(message);
    });

    it('rejects a non-array on update()', () => {
      expect(() => make().update('a' as never)).toThrow(/expects an array of endpoints, got "a"/);
    });

    it('returns undefined before any update and after update([])', () => {
      const selector = make({ random: mulberry32(2) });
      expect(selector.pick()).toBeUndefined();
      selector.update(endpoints(['a', 'b']));
      expect(selector.pick()).toBeDefined();
      selector.update([]);
      expect(selector.pick()).toBeUndefined();
      expect(selector.pick({ exclude: new Set(['a']) })).toBeUndefined();
    });

    it('works with a single endpoint', () => {
      const selector = make({ random: mulberry32(3) });
      selector.update(endpoints(['only']));
      expect(ids(selector, 5)).toEqual(['only', 'only', 'only', 'only', 'only']);
      expect(selector.pick({ exclude: new Set(['only']) })).toBeUndefined();
    });

    it('never returns an excluded endpoint', () => {
      const selector = make({ random: mulberry32(4) });
      selector.update(endpoints(['a', 'b', 'c', 'd', 'e'], { weight: [3, 1, 2, 1, 1] }));
      for (const excluded of [['a'], ['b', 'c'], ['a', 'c', 'd', 'e'], ['a', 'b', 'c', 'd']]) {
        const exclude = new Set(excluded);
        const counts = tally(selector, 400, { exclude });
        for (const id of excluded) expect(counts.has(id)).toBe(false);
        expect(counts.has('-')).toBe(false);
        // Every endpoint left is still reachable.
        expect(counts.size).toBe(5 - excluded.length);
      }
    });

    it('returns undefined when every endpoint is excluded', () => {
      const selector = make({ random: mulberry32(5) });
      selector.update(endpoints(['a', 'b', 'c']));
      expect(selector.pick({ exclude: new Set(['a', 'b', 'c']) })).toBeUndefined();
      expect(selector.pick({ exclude: new Set(['c', 'zz', 'b', 'a']) })).toBeUndefined();
      // …and recovers once fewer are excluded.
      expect(selector.pick({ exclude: new Set(['a', 'b']) })?.id).toBe('c');
      expect(selector.pick()).toBeDefined();
    });

    it('ignores unknown ids in exclude', () => {
      const selector = make({ random: mulberry32(6) });
      selector.update(endpoints(['a', 'b', 'c']));
      const counts = tally(selector, 300, { exclude: new Set(['x', 'y', 'z', 'w']) });
      expect([...counts.keys()].sort()).toEqual(['a', 'b', 'c']);
      const some = tally(selector, 300, { exclude: new Set(['x', 'a', 'y', 'z']) });
      expect([...some.keys()].sort()).toEqual(['b', 'c']);
    });

    it('treats an empty exclude like none', () => {
      const plain = make({ random: mulberry32(7) });
      const empty = make({ random: mulberry32(7) });
      const set = endpoints(['a', 'b', 'c'], { weight: [2, 1, 1], inflight: [1, 0, 2] });
      plain.update(set);
      empty.update(set);
      expect(ids(empty, 50, { exclude: new Set() })).toEqual(ids(plain, 50));
    });

    it('follows a re-update to a changed set, including an endpoint coming back', () => {
      const selector = make({ random: mulberry32(8) });
      selector.update(endpoints(['a', 'b', 'c']));
      ids(selector, 7);
      selector.update(endpoints(['b', 'c', 'd', 'e'], { weight: [1, 2, 1, 1] }));
      const counts = tally(selector, 500);
      expect([...counts.keys()].sort()).toEqual(['b', 'c', 'd', 'e']);
      selector.update(endpoints(['a', 'b', 'c', 'd', 'e']));
      // The recovered endpoint is picked again soon after.
      expect(ids(selector, 60)).toContain('a');
    });

    it('makes the same picks from the same seed', () => {
      const set = endpoints(['a', 'b', 'c', 'd'], {
        weight: [1, 2, 3, 1],
        inflight: [0, 1, 0, 2],
        latency: [5, 3, 0, 7],
      });
      const one = make({ random: mulberry32(9) });
      const two = make({ random: mulberry32(9) });
      one.update(set);
      two.update(set);
      const exclude = new Set(['b']);
      expect(ids(one, 100)).toEqual(ids(two, 100));
      expect(ids(one, 100, { exclude })).toEqual(ids(two, 100, { exclude }));
    });

    it('does not call Math.random when given a random', () => {
      const spy = vi.spyOn(Math, 'random');
      try {
        const selector = make({ random: mulberry32(10) });
        selector.update(endpoints(['a', 'b', 'c'], { weight: [1, 2, 1] }));
        ids(selector, 50);
        ids(selector, 50, { exclude: new Set(['a']) });
        expect(spy).not.toHaveBeenCalled();
      } finally {
        spy.mockRestore();
      }
    });

    it('works with the default random', () => {
      const selector = make();
      selector.update(endpoints(['a', 'b']));
      expect(['a', 'b']).toContain(selector.pick()?.id);
    });
  });
}
