import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../../src/http/shared/retry-budget.js';

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

/**
 * The budget as its definition reads, with nothing cached: every request and retry kept
 * with its bucket (`floor(t / bucketMs)`), those ten buckets or more behind the newest
 * bucket seen forgotten, and everything forgotten when the clock goes back a bucket.
 */
class ModelBudget {
  #events: { bucket: number; retry: boolean }[] = [];
  #head = Number.NEGATIVE_INFINITY;
  constructor(
    readonly ratio: number,
    readonly reserve: number,
    readonly bucketMs: number,
  ) {}
  #at(t: number): number {
    const bucket = Math.floor(t / this.bucketMs);
    if (bucket < this.#head) this.#events = [];
    else this.#events = this.#events.filter((e) => e.bucket > bucket - 10);
    this.#head = bucket;
    return bucket;
  }
  #sums(): { requests: number; retries: number } {
    const retries = this.#events.filter((e) => e.retry).length;
    return { requests: this.#events.length - retries, retries };
  }
  record(t: number): void {
    const bucket = this.#at(t);
    this.#events.push({ bucket, retry: false });
  }
  allows(t: number): boolean {
    this.#at(t);
    const { requests, retries } = this.#sums();
    return retries + 1 <= this.ratio * requests + this.reserve;
  }
  take(t: number): boolean {
    if (!this.allows(t)) return false;
    this.#events.push({ bucket: this.#head, retry: true });
    return true;
  }
  counts(t: number): { requests: number; retries: number } {
    this.#at(t);
    return this.#sums();
  }
}

const step = fc.record({
  // Mostly small steps inside a bucket, some across buckets or the window, a few backwards.
  advance: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 40 }) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 2_500 }) },
    { weight: 1, arbitrary: fc.integer({ min: -2_500, max: -1 }) },
  ),
  op: fc.constantFrom('record', 'record', 'record', 'canRetry', 'tryRetry', 'counts'),
});

describe('RetryBudget against a model', () => {
  test.prop(
    [
      fc.array(step, { maxLength: 300 }),
      fc.constantFrom(0, 0.2, 1),
      fc.constantFrom(0, 1, 10),
      fc.constantFrom(10, 1_000, 1_500),
      fc.integer({ min: 0, max: 2 ** 42 }),
    ],
    { numRuns: 200 },
  )(
    'agrees on every answer, whatever the clock does',
    (steps, ratio, minPerSecond, windowMs, start) => {
      let t = start;
      const budget = new RetryBudget({ ratio, minPerSecond, windowMs, now: () => t });
      const model = new ModelBudget(ratio, (minPerSecond * windowMs) / 1000, windowMs / 10);
      for (const { advance, op } of steps) {
        t += advance;
        if (op === 'record') {
          budget.recordRequest();
          model.record(t);
        } else if (op === 'canRetry') expect(budget.canRetry()).toBe(model.allows(t));
        else if (op === 'tryRetry') expect(budget.tryRetry()).toBe(model.take(t));
        else expect(budget.counts).toEqual(model.counts(t));
      }
    },
  );
});
