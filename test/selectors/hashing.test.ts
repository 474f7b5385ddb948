import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { allExcluded, compareIds, idOrder, indexIds } from '../../src/selectors/hashing.js';
import { ep } from './hashing-helpers.js';

function compareUtf8(a: string, b: string): number {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

describe('compareIds', () => {
  test('orders by code point, not by UTF-16 code unit', () => {
    // U+FF5E is one code unit above the surrogates of U+1F680, yet a smaller code point.
    expect(Math.sign(compareIds('\uff5e', '🚀'))).toBe(-1);
    expect('\uff5e' < '🚀').toBe(false);
    expect(compareIds('a', 'a')).toBe(0);
    expect(Math.sign(compareIds('a', 'ab'))).toBe(-1);
    expect(Math.sign(compareIds('10.0.0.2', '10.0.0.10'))).toBe(1);
  });

  test.prop([fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' })], { numRuns: 1000 })(
    'agrees with the byte order of UTF-8 on well-formed strings',
    (a, b) => {
      expect(Math.sign(compareIds(a, b))).toBe(Math.sign(compareUtf8(a, b)));
      expect(Math.sign(compareIds(b, a))).toBe(Math.sign(compareUtf8(b, a)));
    },
  );

  test('idOrder lists endpoint indices by id', () => {
    const endpoints = [ep('c'), ep('a'), ep('b')];
    expect([...idOrder(endpoints)]).toEqual([1, 2, 0]);
  });
});

describe('allExcluded', () => {
  const index = indexIds([ep('a'), ep('b'), ep('c')]);

  test('counts only ids that are endpoints', () => {
    expect(allExcluded(new Set(['a', 'b', 'c']), index, 3)).toBe(true);
    expect(allExcluded(new Set(['a', 'b', 'c', 'x']), index, 3)).toBe(true);
    expect(allExcluded(new Set(['a', 'b', 'x']), index, 3)).toBe(false);
    expect(allExcluded(new Set(['a', 'b']), index, 3)).toBe(false);
    expect(allExcluded(new Set(), index, 3)).toBe(false);
  });
});
