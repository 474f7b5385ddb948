import { checkFunction, checkNumber, checkOptions } from '../../validate.js';

/** Share of requests that may be retried. */
export const DEFAULT_RETRY_BUDGET_RATIO = 0.2;
/** Retries allowed per second whatever the request rate, so a quiet service can still retry. */
export const DEFAULT_RETRY_BUDGET_MIN_PER_SECOND = 10;
/** Length of the sliding window the budget is counted over. */
export const DEFAULT_RETRY_BUDGET_WINDOW_MS = 10_000;

const BUCKETS = 10;

/** Options of {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /**
   * Retries may add up to this share of the requests seen in the window (0.2: at most one
   * retry for every five requests).
   * @default 0.2
   */
  readonly ratio?: number;
  /**
   * Retries always allowed per second on top of `ratio`, so that a service with little
   * traffic can still retry.
   * @default 10
   */
  readonly minPerSecond?: number;
  /**
   * Length of the sliding window, in ms.
   * @default 10_000
   */
  readonly windowMs?: number;
  /**
   * Clock, in ms.
   * @default Date.now
   */
  readonly now?: () => number;
}

const KNOWN = ['ratio', 'minPerSecond', 'windowMs', 'now'];

/**
 * A rate-based retry budget, as Finagle's `RetryBudget` and Envoy's retry budgets: over a
 * sliding window, retries may not exceed `ratio × requests + minPerSecond × window`. When a
 * whole fleet fails, retries stay a bounded fraction of the load instead of multiplying it.
 *
 * The window is ten buckets, so counting is O(1) and allocates nothing.
 *
 * @example
 * ```ts
 * const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 10 });
 * budget.recordRequest();               // once per original request
 * if (budget.tryRetry()) { … retry … }  // withdraws one retry when allowed
 * ```
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #reserve: number;
  readonly #bucketMs: number;
  readonly #now: () => number;
  readonly #requests = new Float64Array(BUCKETS);
  readonly #retries = new Float64Array(BUCKETS);
  #requestSum = 0;
  #retrySum = 0;
  #head = Number.NEGATIVE_INFINITY;
  /** `mod(#head)`, kept so that the common case (same bucket) costs no `%` on a double. */
  #headIndex = 0;

  /**
   * @throws TypeError for an unknown option or a non-number; RangeError for `ratio` < 0,
   *   `minPerSecond` < 0 or `windowMs` < 10.
   */
  constructor(options?: RetryBudgetOptions) {
    const o = checkOptions('RetryBudget', options, KNOWN);
    this.#ratio = checkNumber(
      'retry.budget.ratio',
      o.ratio === undefined ? DEFAULT_RETRY_BUDGET_RATIO : o.ratio,
      {
        min: 0,
      },
    );
    const minPerSecond = checkNumber(
      'retry.budget.minPerSecond',
      o.minPerSecond === undefined ? DEFAULT_RETRY_BUDGET_MIN_PER_SECOND : o.minPerSecond,
      { min: 0 },
    );
    const windowMs = checkNumber(
      'retry.budget.windowMs',
      o.windowMs === undefined ? DEFAULT_RETRY_BUDGET_WINDOW_MS : o.windowMs,
      { min: 10 },
    );
    this.#now = o.now === undefined ? Date.now : checkFunction('retry.budget.now', o.now);
    this.#reserve = (minPerSecond * windowMs) / 1000;
    this.#bucketMs = windowMs / BUCKETS;
  }

  /** Counts one original request (not a retry): it earns `ratio` of a retry. */
  recordRequest(): void {
    const i = this.#advance();
    this.#requests[i]! += 1;
    this.#requestSum += 1;
  }

  /** True when one more retry fits in the budget now. Does not withdraw. */
  canRetry(): boolean {
    this.#advance();
    return this.#retrySum + 1 <= this.#ratio * this.#requestSum + this.#reserve;
  }

  /** Withdraws one retry and returns true when it fits; returns false (and counts nothing) otherwise. */
  tryRetry(): boolean {
    const i = this.#advance();
    if (this.#retrySum + 1 > this.#ratio * this.#requestSum + this.#reserve) return false;
    this.#retries[i]! += 1;
    this.#retrySum += 1;
    return true;
  }

  /** Requests and retries counted in the current window. */
  get counts(): {
    /** Requests counted in the window. */
    readonly requests: number;
    /** Retries counted in the window. */
    readonly retries: number;
  } {
    this.#advance();
    return { requests: this.#requestSum, retries: this.#retrySum };
  }

  /** Moves the window to now, clearing the buckets that fell out; returns the current bucket. */
  #advance(): number {
    const bucket = Math.floor(this.#now() / this.#bucketMs);
    const head = this.#head;
    // The common case, once per request: `bucket` is a large double, and `%` on one is a
    // call into C, so the index is computed only when the bucket changes.
    if (bucket === head) return this.#headIndex;
    if (bucket > head) {
      // Clear every bucket between the old head and now (at most all of them).
      const steps = Math.min(bucket - head, BUCKETS);
      for (let s = 1; s <= steps; s++) this.#clear(mod(bucket - steps + s));
    } else {
      // The clock went backwards: start afresh rather than trust stale buckets.
      for (let i = 0; i < BUCKETS; i++) this.#clear(i);
    }
    this.#head = bucket;
    this.#headIndex = mod(bucket);
    return this.#headIndex;
  }

  #clear(i: number): void {
    this.#requestSum -= this.#requests[i]!;
    this.#retrySum -= this.#retries[i]!;
    this.#requests[i] = 0;
    this.#retries[i] = 0;
  }
}

function mod(bucket: number): number {
  const r = bucket % BUCKETS;
  return r < 0 ? r + BUCKETS : r;
}
