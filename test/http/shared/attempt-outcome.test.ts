import { describe, expect, it } from 'vitest';
import { isUpstreamTimeoutError, isUpstreamUnavailableError } from '../../../src/errors.js';
import {
  attemptsText,
  nextLease,
  responseOutcome,
  retriedOutcome,
  retryAfterOf,
  statusError,
  type TrySource,
  upstreamError,
} from '../../../src/http/shared/attempt-outcome.js';
import { RetryBudget } from '../../../src/http/shared/retry-budget.js';
import { type RetryOptions, RetryPolicy } from '../../../src/http/shared/retry-policy.js';
import type { AcquireOptions, Lease } from '../../../src/pool/types.js';

function lease(id: string): Lease {
  return { endpoint: { id } } as unknown as Lease;
}

/** A source whose pool hands out `next` (or throws it) and records what it was asked. */
function source(
  next: Lease | undefined | Error,
  retry: RetryOptions = {},
  nowMs = 0,
): TrySource & { asked: AcquireOptions[] } {
  const asked: AcquireOptions[] = [];
  return {
    asked,
    policy: new RetryPolicy(retry),
    now: () => nowMs,
    pool: {
      tryAcquire(options?: AcquireOptions) {
        asked.push({ ...options, exclude: new Set(options?.exclude) });
        if (next instanceof Error) throw next;
        return next;
      },
    },
  };
}

function coded(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe('nextLease', () => {
  it('claims an endpoint not tried yet, with the key, and withdraws one retry', () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, windowMs: 10_000, now: () => 0 });
    const s = source(lease('b'), { budget });
    const tried = new Set<string>();
    expect(nextLease(s, 'k', 1, lease('a'), tried)?.endpoint.id).toBe('b');
    expect(s.asked).toEqual([{ key: 'k', exclude: new Set(['a']), retry: true }]);
    expect(tried).toEqual(new Set(['a']));
    // The budget held one retry: it is spent.
    expect(budget.canRetry()).toBe(false);
    expect(nextLease(s, undefined, 2, lease('b'), tried)).toBeUndefined();
  });

  it('asks without a key when there is none, excluding every endpoint tried', () => {
    const s = source(lease('c'), { budget: false });
    const tried = new Set(['a']);
    nextLease(s, undefined, 2, lease('b'), tried);
    expect(s.asked).toEqual([{ exclude: new Set(['a', 'b']), retry: true }]);
  });

  it('gives none once the attempts are used up, without asking the pool', () => {
    const s = source(lease('b'), { attempts: 2, budget: false });
    expect(nextLease(s, undefined, 2, lease('a'), new Set())).toBeUndefined();
    expect(s.asked).toEqual([]);
  });

  it('gives none when no other endpoint is eligible, and then spends no budget', () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, windowMs: 10_000, now: () => 0 });
    expect(nextLease(source(undefined, { budget }), undefined, 1, lease('a'), new Set())).toBe(
      undefined,
    );
    expect(budget.canRetry()).toBe(true);
  });

  it('gives none when the pool throws (closed meanwhile)', () => {
    const s = source(new Error('closed'), { budget: false });
    expect(nextLease(s, undefined, 1, lease('a'), new Set())).toBeUndefined();
  });
});

describe('retryAfterOf', () => {
  it('reads Retry-After on a 503 or a 429 only, capped by the policy', () => {
    const s = source(undefined, { maxRetryAfterMs: 20_000 });
    expect(retryAfterOf(s, 503, { 'retry-after': '5' })).toBe(5_000);
    expect(retryAfterOf(s, 429, { 'retry-after': '120' })).toBe(20_000);
    expect(retryAfterOf(s, 502, { 'retry-after': '5' })).toBe(0);
    expect(retryAfterOf(s, 200, { 'retry-after': '5' })).toBe(0);
    expect(retryAfterOf(s, 503, { 'retry-after': 'soon' })).toBe(0);
    expect(retryAfterOf(s, 503, {})).toBe(0);
  });

  it('reads an HTTP date against the injected clock', () => {
    const now = Date.UTC(2015, 9, 21, 7, 27, 50);
    const s = source(undefined, {}, now);
    expect(retryAfterOf(s, 503, { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' })).toBe(10_000);
  });
});

describe('release outcomes', () => {
  it('counts a 5xx response as the endpoint failing, with its status, latency and Retry-After', () => {
    const plain = responseOutcome(502, 2, 12, 0);
    expect(plain).toEqual({ ok: false, error: expect.any(Error), latencyMs: 12 });
    expect(isUpstreamUnavailableError(plain.error)).toBe(true);
    expect(plain.error).toMatchObject({ attempts: 2, upstreamStatus: 502 });
    expect(responseOutcome(503, 1, 12, 3_000)).toEqual({
      ok: false,
      error: expect.any(Error),
      latencyMs: 12,
      retryAfterMs: 3_000,
    });
  });

  it('counts anything below 500 as a success carrying its latency', () => {
    expect(responseOutcome(200, 1, 7, 0)).toEqual({ ok: true, latencyMs: 7 });
    expect(responseOutcome(404, 1, 7, 0)).toEqual({ ok: true, latencyMs: 7 });
    expect(responseOutcome(429, 1, 7, 1_000)).toEqual({
      ok: true,
      latencyMs: 7,
      retryAfterMs: 1_000,
    });
  });

  it('gives a try dropped for a retry its error and Retry-After, no latency', () => {
    const error = new Error('x');
    expect(retriedOutcome(error, 0)).toEqual({ ok: false, error });
    expect(retriedOutcome(error, 2_000)).toEqual({ ok: false, error, retryAfterMs: 2_000 });
  });
});

describe('errors', () => {
  it('statusError names the status', () => {
    const error = statusError(504, 3);
    expect(error.message).toBe('upstream answered 504');
    expect(error).toMatchObject({
      code: 'ERR_UPSTREAM_UNAVAILABLE',
      attempts: 3,
      upstreamStatus: 504,
    });
  });

  it('upstreamError is coded by kind, names the cause code and the attempts', () => {
    const refused = coded('ECONNREFUSED');
    const connect = upstreamError('connect', refused, 1);
    expect(isUpstreamUnavailableError(connect)).toBe(true);
    expect(connect.message).toBe('upstream connection failed (ECONNREFUSED) after 1 attempt');
    expect(connect.cause).toBe(refused);
    expect(upstreamError('reset', coded('ECONNRESET'), 3).message).toBe(
      'upstream connection broke (ECONNRESET) after 3 attempts',
    );
    expect(upstreamError('other', new Error('odd'), 2).message).toBe(
      'upstream request failed after 2 attempts',
    );
    const slow = upstreamError('headers-timeout', coded('UND_ERR_HEADERS_TIMEOUT'), 2);
    expect(isUpstreamTimeoutError(slow)).toBe(true);
    expect(slow.message).toBe(
      'upstream timed out waiting for the response (UND_ERR_HEADERS_TIMEOUT) after 2 attempts',
    );
    expect(upstreamError('connect-timeout', coded('UND_ERR_CONNECT_TIMEOUT'), 1).message).toBe(
      'upstream timed out connecting (UND_ERR_CONNECT_TIMEOUT) after 1 attempt',
    );
    expect(attemptsText(1)).toBe('1 attempt');
    expect(attemptsText(4)).toBe('4 attempts');
  });
});
