import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../src/http/retry-budget.js';

function clock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

describe('RetryBudget', () => {
  it('allows minPerSecond × window retries with no traffic at all', () => {
    const c = clock();
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000, now: c.now });
    let granted = 0;
    for (let i = 0; i < 50; i++) if (budget.tryRetry()) granted++;
    expect(granted).toBe(10);
    expect(budget.canRetry()).toBe(false);
  });

  it('adds ratio × requests', () => {
    const c = clock();
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, windowMs: 10_000, now: c.now });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    let granted = 0;
    for (let i = 0; i < 100; i++) if (budget.tryRetry()) granted++;
    expect(granted).toBe(20);
    expect(budget.counts).toEqual({ requests: 100, retries: 20 });
  });

  it('slides: old requests and retries fall out of the window', () => {
    const c = clock();
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, windowMs: 1_000, now: c.now });
    for (let i = 0; i < 10; i++) budget.recordRequest();
    for (let i = 0; i < 5; i++) expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    c.advance(500);
    expect(budget.tryRetry()).toBe(false);
    c.advance(600); // the first bucket is now out of the window
    expect(budget.counts).toEqual({ requests: 0, retries: 0 });
    expect(budget.tryRetry()).toBe(false); // no traffic, no reserve
    budget.recordRequest();
    budget.recordRequest();
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
  });

  it('clears gradually, bucket by bucket', () => {
    const c = clock(0);
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, windowMs: 1_000, now: c.now });
    for (let step = 0; step < 10; step++) {
      budget.recordRequest();
      c.advance(100);
    }
    expect(budget.counts.requests).toBe(9);
    c.advance(500);
    expect(budget.counts.requests).toBe(4);
    c.advance(10_000_000);
    expect(budget.counts.requests).toBe(0);
  });

  it('starts afresh when the clock goes backwards', () => {
    const c = clock();
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, now: c.now });
    budget.recordRequest();
    c.advance(-60_000);
    expect(budget.counts).toEqual({ requests: 0, retries: 0 });
  });

  it('a refused retry counts nothing', () => {
    const c = clock();
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, now: c.now });
    expect(budget.tryRetry()).toBe(false);
    expect(budget.counts.retries).toBe(0);
  });

  it('rejects bad options, naming them', () => {
    expect(() => new RetryBudget({ ratio: -1 })).toThrow(
      /retry\.budget\.ratio must be .*>= 0, got -1/,
    );
    expect(() => new RetryBudget({ minPerSecond: Number.NaN })).toThrow(
      /retry\.budget\.minPerSecond .* got NaN/,
    );
    expect(() => new RetryBudget({ windowMs: 1 })).toThrow(/retry\.budget\.windowMs .* got 1/);
    expect(() => new RetryBudget({ now: 5 as never })).toThrow(
      /retry\.budget\.now must be a function/,
    );
    expect(() => new RetryBudget({ rate: 1 } as never)).toThrow(/unknown option "rate"/);
  });
});
