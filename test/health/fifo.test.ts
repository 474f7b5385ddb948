import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Fifo } from '../../src/health/fifo.js';

describe('Fifo', () => {
  it('gives items back in the order they went in', () => {
    const q = new Fifo<number>();
    expect(q.shift()).toBeUndefined();
    q.push(1);
    q.push(2);
    expect(q.shift()).toBe(1);
    q.push(3);
    expect(q.size).toBe(2);
    expect([q.shift(), q.shift(), q.shift()]).toEqual([2, 3, undefined]);
    q.push(4);
    q.clear();
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
  });

  // Long runs cross the compaction threshold (a head past 1 024) many times.
  test.prop([fc.array(fc.integer({ min: 0, max: 3_000 }), { maxLength: 40 })], { numRuns: 50 })(
    'agrees with an array under bursts of pushes and shifts',
    (bursts) => {
      const q = new Fifo<number>();
      const model: number[] = [];
      let next = 0;
      bursts.forEach((n, i) => {
        for (let k = 0; k < n; k++) {
          if (i % 2 === 0) {
            q.push(next);
            model.push(next++);
          } else {
            expect(q.shift()).toBe(model.shift());
          }
        }
        expect(q.size).toBe(model.length);
      });
    },
  );
});
