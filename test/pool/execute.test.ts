import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AttemptsExhaustedError,
  isAttemptsExhaustedError,
  isNoEndpointError,
  isTimeoutError,
  Pool,
  type PoolEndpoint,
  type PoolOptions,
} from '../../src/index.js';
import { ListSelector, urls } from './support.js';

function pool(n: number, options: PoolOptions = {}): Pool {
  return new Pool({
    endpoints: urls(n),
    selector: new ListSelector(),
    outlierDetection: false,
    ...options,
  });
}

/** A promise that never settles unless its signal aborts (then it rejects with the reason). */
function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('execute: failover', () => {
  it('retries on a different endpoint and feeds outcomes to the pool', async () => {
    const p = pool(3);
    const seen: string[] = [];
    const result = await p.execute(
      (endpoint, { attempt }) => {
        seen.push(endpoint.id);
        if (attempt < 2) throw new Error(`down: ${endpoint.id}`);
        return `ok from ${endpoint.id}`;
      },
      { backoff: false },
    );
    expect(seen).toHaveLength(2);
    expect(seen[0]).not.toBe(seen[1]);
    expect(result).toBe(`ok from ${seen[1]}`);
    const snapshot = p.snapshot();
    expect(snapshot.totals).toMatchObject({ requests: 2, failures: 1, successes: 1, inflight: 0 });
    expect(snapshot.endpoints.find((e) => e.id === seen[0])!.failures).toBe(1);
  });

  it('tries every endpoint once before repeating; throws AttemptsExhaustedError with every error', async () => {
    const p = pool(3);
    const seen: string[] = [];
    const error = await p
      .execute(
        (endpoint, { attempt }) => {
          seen.push(endpoint.id);
          return Promise.reject(new Error(`attempt ${attempt}`));
        },
        { attempts: 5, backoff: false },
      )
      .catch((e: unknown) => e);
    expect(new Set(seen.slice(0, 3)).size).toBe(3);
    expect(seen).toHaveLength(5);
    expect(error).toBeInstanceOf(AttemptsExhaustedError);
    expect(isAttemptsExhaustedError(error)).toBe(true);
    const exhausted = error as AttemptsExhaustedError;
    expect(exhausted.code).toBe('ERR_ATTEMPTS_EXHAUSTED');
    expect(exhausted.message).toBe('all 5 attempts failed; last error: attempt 5');
    expect(exhausted.attempts).toBe(5);
    expect(exhausted.errors.map((e) => (e as Error).message)).toEqual(
      [1, 2, 3, 4, 5].map((n) => `attempt ${n}`),
    );
    expect((exhausted.cause as Error).message).toBe('attempt 5');
    expect(p.snapshot().totals.inflight).toBe(0);
  });

  it('stops when retryOn says no, throwing the error as is', async () => {
    const p = pool(3);
    const fatal = new Error('bad request');
    const retryOn = vi.fn((e: unknown) => e !== fatal);
    const fn = vi.fn(() => Promise.reject(fatal));
    await expect(p.execute(fn, { retryOn, backoff: false })).rejects.toBe(fatal);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(retryOn).toHaveBeenCalledWith(fatal, 1);
  });

  it('handles a synchronous throw like a rejection', async () => {
    const p = pool(2);
    let calls = 0;
    const value = await p.execute(
      () => {
        if (calls++ === 0) throw new TypeError('sync');
        return 7;
      },
      { backoff: false },
    );
    expect(value).toBe(7);
  });

  it('countsAsFailure: false keeps an error from counting against the endpoint', async () => {
    const p = pool(1);
    const notFound = new Error('not found');
    await expect(
      p.execute(() => Promise.reject(notFound), { attempts: 1, countsAsFailure: () => false }),
    ).rejects.toSatisfy(isAttemptsExhaustedError);
    expect(p.snapshot().totals).toMatchObject({ failures: 0, successes: 1 });
  });

  it('passes the key to the selector', async () => {
    const selector = new ListSelector();
    const pick = vi.spyOn(selector, 'pick');
    const p = new Pool({ endpoints: urls(2), selector });
    await p.execute(() => 1, { key: 'user-7' });
    expect(pick).toHaveBeenCalledWith({ key: 'user-7' });
  });

  it('NoEndpointError when nothing is eligible at the start; AttemptsExhaustedError when it runs out later', async () => {
    const empty = pool(0);
    await expect(empty.execute(() => 1)).rejects.toSatisfy(isNoEndpointError);
    const p = pool(2, { panicThreshold: 0 });
    const error = await p
      .execute(
        (endpoint) => {
          p.setHealth(endpoint.id, false);
          throw new Error(`lost ${endpoint.id}`);
        },
        { attempts: 5, backoff: false },
      )
      .catch((e: unknown) => e);
    expect(isAttemptsExhaustedError(error)).toBe(true);
    expect((error as AttemptsExhaustedError).attempts).toBe(2);
    expect((error as Error).message).toMatch(
      /^2 attempts failed, then no endpoint was eligible; last error: lost /,
    );
  });
});

describe('execute: time and cancellation', () => {
  it('aborts an attempt at perAttemptTimeoutMs and retries elsewhere', async () => {
    vi.useFakeTimers();
    const p = pool(2);
    const signals: AbortSignal[] = [];
    const done = p.execute(
      (endpoint: PoolEndpoint, { signal, attempt }) => {
        signals.push(signal);
        return attempt === 1 ? hang(signal) : `ok ${endpoint.id}`;
      },
      { perAttemptTimeoutMs: 100, backoff: false },
    );
    await vi.advanceTimersByTimeAsync(99);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(signals[0]!.aborted).toBe(true);
    expect(isTimeoutError(signals[0]!.reason)).toBe(true);
    expect((signals[0]!.reason as Error).message).toBe('attempt 1 timed out after 100 ms');
    await expect(done).resolves.toBe(`ok ${urls(2)[1]}`);
    expect(p.snapshot().totals).toMatchObject({ failures: 1, successes: 1, inflight: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('moves on at the timeout even when fn ignores its signal', async () => {
    vi.useFakeTimers();
    const p = pool(1);
    const done = p.execute(() => new Promise(() => {}), {
      perAttemptTimeoutMs: 10,
      attempts: 2,
      backoff: false,
    });
    const check = expect(done).rejects.toSatisfy(
      (e: unknown) => isAttemptsExhaustedError(e) && isTimeoutError((e as Error).cause),
    );
    await vi.advanceTimersByTimeAsync(20);
    await check;
  });

  it('rejects with TimeoutError at the deadline, aborting the running attempt', async () => {
    vi.useFakeTimers();
    const p = pool(3);
    const signals: AbortSignal[] = [];
    const first = new Error('first failed');
    const done = p.execute(
      (_endpoint, { signal, attempt }) => {
        signals.push(signal);
        return attempt === 1 ? Promise.reject(first) : hang(signal);
      },
      { deadlineMs: 500, backoff: false },
    );
    const check = expect(done).rejects.toSatisfy(
      (e: unknown) =>
        isTimeoutError(e) &&
        (e as Error).message === 'deadline of 500 ms exceeded' &&
        (e as Error).cause === first,
    );
    await vi.advanceTimersByTimeAsync(500);
    await check;
    expect(signals).toHaveLength(2);
    expect(signals[1]!.aborted).toBe(true);
    expect(p.snapshot().totals).toMatchObject({ failures: 2, inflight: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the deadline also cuts a backoff short', async () => {
    vi.useFakeTimers();
    const p = pool(2, { random: () => 0.99 });
    const fn = vi.fn(() => Promise.reject(new Error('no')));
    const done = p.execute(fn, { deadlineMs: 50, backoff: { baseMs: 1_000, maxMs: 1_000 } });
    const check = expect(done).rejects.toSatisfy(isTimeoutError);
    await vi.advanceTimersByTimeAsync(50);
    await check;
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("the caller's abort rejects with its reason, without retry or failure", async () => {
    const p = pool(3);
    const controller = new AbortController();
    const reason = new Error('client went away');
    const fn = vi.fn((_e: PoolEndpoint, { signal }: { signal: AbortSignal }) => {
      queueMicrotask(() => controller.abort(reason));
      return hang(signal);
    });
    await expect(p.execute(fn, { signal: controller.signal })).rejects.toBe(reason);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(p.snapshot().totals).toMatchObject({ failures: 0, inflight: 0 });
    // Already aborted: nothing runs.
    await expect(p.execute(fn, { signal: controller.signal })).rejects.toBe(reason);
    expect(fn).toHaveBeenCalledTimes(1);
    // Default reason: a DOMException named AbortError, as fetch.
    const c2 = new AbortController();
    c2.abort();
    await expect(p.execute(fn, { signal: c2.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('backs off with full jitter: random × min(maxMs, baseMs × 2^(n−1))', async () => {
    vi.useFakeTimers();
    const p = pool(4, { random: () => 0.5 });
    const starts: number[] = [];
    const t0 = Date.now();
    const done = p.execute(
      () => {
        starts.push(Date.now() - t0);
        return Promise.reject(new Error('down'));
      },
      { attempts: 4, backoff: { baseMs: 100, maxMs: 250 } },
    );
    const check = expect(done).rejects.toSatisfy(isAttemptsExhaustedError);
    await vi.advanceTimersByTimeAsync(1_000);
    await check;
    // Waits of 0.5 × 100, 0.5 × 200, 0.5 × 250 (capped).
    expect(starts).toEqual([0, 50, 150, 275]);
  });
});

describe('execute: bad options', () => {
  const p = pool(1);
  it.each([
    ['an unknown option', { retries: 3 }, TypeError, /^execute got an unknown option "retries"/],
    ['attempts 0', { attempts: 0 }, RangeError, /^attempts must be an integer >= 1, got 0$/],
    ['attempts 1.5', { attempts: 1.5 }, RangeError, /^attempts must be an integer >= 1, got 1.5$/],
    [
      'retryOn not a function',
      { retryOn: true },
      TypeError,
      /^retryOn must be a function, got true$/,
    ],
    [
      'countsAsFailure not a function',
      { countsAsFailure: 1 },
      TypeError,
      /^countsAsFailure must be a function, got 1$/,
    ],
    [
      'backoff unknown key',
      { backoff: { base: 1 } },
      TypeError,
      /^execute backoff got an unknown option "base"/,
    ],
    [
      'backoff.baseMs -1',
      { backoff: { baseMs: -1 } },
      RangeError,
      /^backoff.baseMs must be a finite number >= 0, got -1$/,
    ],
    [
      'backoff.maxMs NaN',
      { backoff: { maxMs: Number.NaN } },
      RangeError,
      /^backoff.maxMs must be a finite number >= 0, got NaN$/,
    ],
    [
      'perAttemptTimeoutMs 0',
      { perAttemptTimeoutMs: 0 },
      RangeError,
      /^perAttemptTimeoutMs must be a finite number > 0, got 0$/,
    ],
    [
      'deadlineMs "1s"',
      { deadlineMs: '1s' },
      TypeError,
      /^deadlineMs must be a finite number > 0, got "1s"$/,
    ],
    ['signal not a signal', { signal: {} }, TypeError, /^signal must be an AbortSignal, got \{\}$/],
    ['key not a string', { key: 5 }, TypeError, /^key must be a non-empty string, got 5$/],
  ])('rejects %s synchronously', (_label, options, type, message) => {
    const run = () => p.execute(() => 1, options as never);
    expect(run).toThrow(type);
    expect(run).toThrow(message);
  });

  it('rejects fn that is not a function', () => {
    expect(() => p.execute('call' as never)).toThrow(/^fn must be a function, got "call"$/);
  });
});
