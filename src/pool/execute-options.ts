import { checkOptions, checkString, functionOption, numberOption, quote } from '../validate.js';

/** Attempts of `execute()` by default: the first try and two retries. */
export const DEFAULT_EXECUTE_ATTEMPTS = 3;
/** Backoff base: the first retry waits up to 25 ms. */
export const DEFAULT_BACKOFF_BASE_MS = 25;
/** Backoff cap: no retry waits more than 1 s. */
export const DEFAULT_BACKOFF_MAX_MS = 1_000;

/** What `fn` receives besides the endpoint. */
export interface ExecuteContext {
  /**
   * Aborted when this attempt must stop: its `perAttemptTimeoutMs` passed, the overall
   * `deadlineMs` passed, or the caller's `signal` aborted. Pass it to the client you call.
   */
  readonly signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry, … */
  readonly attempt: number;
}

/** Backoff between attempts: full jitter (see {@link ExecuteOptions.backoff}). */
export interface BackoffOptions {
  /**
   * Upper bound of the first retry's wait; doubles with each retry.
   * @default 25 ({@link DEFAULT_BACKOFF_BASE_MS})
   */
  readonly baseMs?: number;
  /**
   * Cap on the upper bound.
   * @default 1_000 ({@link DEFAULT_BACKOFF_MAX_MS})
   */
  readonly maxMs?: number;
}

/** Options of `pool.execute()`. */
export interface ExecuteOptions {
  /**
   * Attempts in all, the first included. Each goes to an endpoint not tried yet while one
   * is eligible; once all were tried, repeats are allowed.
   * @default 3 ({@link DEFAULT_EXECUTE_ATTEMPTS})
   */
  readonly attempts?: number;
  /**
   * Whether a failed attempt is retried. Not consulted for the caller's own abort (never
   * retried) nor for the deadline (ends everything). A per-attempt timeout reaches it as a
   * `TimeoutError`.
   * @default () => true
   */
  readonly retryOn?: (error: unknown, attempt: number) => boolean;
  /**
   * Whether an error counts against the endpoint (a failure for outlier detection). Return
   * false for errors that say nothing about the endpoint's health (a "not found", a
   * validation error). When it throws, the attempt counts as a failure and `execute`
   * rejects with what it threw.
   * @default () => true
   */
  readonly countsAsFailure?: (error: unknown) => boolean;
  /**
   * Wait before retry n (n = 1, 2, …): `random() × min(maxMs, baseMs × 2^(n−1))`, "full
   * jitter" (Brooker, "Exponential Backoff and Jitter", AWS Architecture Blog, 2015), which
   * spreads a fleet's retries instead of synchronising them. `false`: retry at once.
   * @default { baseMs: 25, maxMs: 1000 }
   */
  readonly backoff?: BackoffOptions | false;
  /**
   * Time allowed to each attempt; then its signal aborts and it fails with a
   * `TimeoutError` (retried like any failure).
   * @default undefined (no limit)
   */
  readonly perAttemptTimeoutMs?: number;
  /**
   * Time allowed to the whole call, backoff included; then the running attempt's signal
   * aborts and `execute` rejects with a `TimeoutError`.
   * @default undefined (no limit)
   */
  readonly deadlineMs?: number;
  /**
   * The caller's signal: aborting it aborts the running attempt and rejects with the
   * signal's reason (as `fetch` does), without retry and without counting a failure.
   * @default undefined
   */
  readonly signal?: AbortSignal;
  /**
   * Hash key for hashing selectors; retries of one key follow the selector's own order.
   * @default undefined
   */
  readonly key?: string;
}

const KEYS = [
  'attempts',
  'retryOn',
  'countsAsFailure',
  'backoff',
  'perAttemptTimeoutMs',
  'deadlineMs',
  'signal',
  'key',
] as const;

/** Execute options after validation and defaults. @internal */
export interface ResolvedExecuteOptions {
  readonly attempts: number;
  readonly retryOn: (error: unknown, attempt: number) => boolean;
  readonly countsAsFailure: (error: unknown) => boolean;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly perAttemptTimeoutMs: number;
  readonly deadlineMs: number;
  readonly signal: AbortSignal | undefined;
  readonly key: string | undefined;
}

const always = (): boolean => true;

/**
 * Validates the options of `execute()` and applies defaults.
 * @throws TypeError or RangeError naming the option and quoting the value.
 * @internal
 */
export function resolveExecuteOptions(options: ExecuteOptions | undefined): ResolvedExecuteOptions {
  const o = checkOptions('execute', options, KEYS);
  let baseMs = DEFAULT_BACKOFF_BASE_MS;
  let maxMs = DEFAULT_BACKOFF_MAX_MS;
  if (o.backoff === false) {
    baseMs = maxMs = 0;
  } else if (o.backoff !== undefined) {
    const b = checkOptions('execute backoff', o.backoff, ['baseMs', 'maxMs']);
    baseMs = numberOption(b, 'baseMs', baseMs, { min: 0 }, 'backoff.baseMs');
    maxMs = numberOption(b, 'maxMs', maxMs, { min: 0 }, 'backoff.maxMs');
  }
  const signal = o.signal as AbortSignal | undefined;
  if (
    signal !== undefined &&
    (typeof signal !== 'object' ||
      signal === null ||
      typeof signal.aborted !== 'boolean' ||
      typeof signal.addEventListener !== 'function')
  ) {
    throw new TypeError(`signal must be an AbortSignal, got ${quote(signal)}`);
  }
  const limit = { min: 0, minExclusive: true } as const;
  return {
    attempts: numberOption(o, 'attempts', DEFAULT_EXECUTE_ATTEMPTS, { min: 1, integer: true }),
    retryOn: functionOption(o, 'retryOn', always),
    countsAsFailure: functionOption(o, 'countsAsFailure', always),
    baseMs,
    maxMs,
    perAttemptTimeoutMs: numberOption(o, 'perAttemptTimeoutMs', 0, limit),
    deadlineMs: numberOption(o, 'deadlineMs', 0, limit),
    signal,
    key: o.key === undefined ? undefined : checkString('key', o.key),
  };
}
