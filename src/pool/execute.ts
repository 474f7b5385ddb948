import {
  AttemptsExhaustedError,
  NoEndpointError,
  PoolClosedError,
  TimeoutError,
} from '../errors.js';
import { checkFunction, quote } from '../validate.js';
import {
  type ExecuteContext,
  type ExecuteOptions,
  type ResolvedExecuteOptions,
  resolveExecuteOptions,
} from './execute-options.js';
import type { Lease, PoolEndpoint, PoolLike } from './types.js';

/** What `execute` needs of a pool. @internal */
export type ExecutePool = Pick<PoolLike, 'closed' | 'tryAcquire'>;

/**
 * Failover for any protocol: calls `fn` with an endpoint from the pool and, when it fails,
 * again on an endpoint not tried yet, with backoff, until it succeeds or the attempts run
 * out. Each attempt's outcome (success, failure, latency) goes back to the pool, so outlier
 * detection learns from it.
 *
 * How it ends:
 * - `fn` succeeds: its value.
 * - `retryOn(error)` says no: that error, as thrown (it is the caller's own).
 * - Every attempt failed: {@link AttemptsExhaustedError} (`ERR_ATTEMPTS_EXHAUSTED`), `cause`
 *   the last error, `errors` all of them. Also when the pool runs out of eligible endpoints
 *   after at least one attempt.
 * - No endpoint for the first attempt: {@link NoEndpointError} (`ERR_NO_ENDPOINT`).
 * - The deadline passed: {@link TimeoutError} (`ERR_TIMEOUT`), `cause` the last error.
 * - The caller's signal aborted: its reason, as `fetch` does.
 * - The pool is closed: {@link PoolClosedError} (`ERR_POOL_CLOSED`).
 *
 * `fn` should honour its signal; when it does not, `execute` still moves on when the
 * signal aborts, leaving `fn`'s promise to settle unobserved.
 *
 * @throws TypeError or RangeError for bad options, synchronously.
 * @internal Exposed as `pool.execute()`.
 * @example
 * ```ts
 * const reply = await pool.execute(
 *   (endpoint, { signal }) => echo(endpoint.parsedUrl, 'hello', signal),
 *   { attempts: 3, perAttemptTimeoutMs: 500, deadlineMs: 2_000 },
 * );
 * ```
 */
export function execute<T>(
  pool: ExecutePool,
  fn: (endpoint: PoolEndpoint, context: ExecuteContext) => T | PromiseLike<T>,
  options: ExecuteOptions | undefined,
  random: () => number,
): Promise<T> {
  checkFunction('fn', fn);
  const o = resolveExecuteOptions(options);
  return run(pool, fn, o, random);
}

async function run<T>(
  pool: ExecutePool,
  fn: (endpoint: PoolEndpoint, context: ExecuteContext) => T | PromiseLike<T>,
  o: ResolvedExecuteOptions,
  random: () => number,
): Promise<T> {
  const { signal: callerSignal } = o;
  if (pool.closed) throw new PoolClosedError();
  callerSignal?.throwIfAborted();
  // Aborted by the caller or the deadline; every attempt and backoff listens to it.
  const overall = new AbortController();
  let stoppedBy: 'caller' | 'deadline' | undefined;
  const onCallerAbort = (): void => {
    stoppedBy ??= 'caller';
    overall.abort(callerSignal!.reason);
  };
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  let deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  if (o.deadlineMs > 0) {
    deadlineTimer = setTimeout(() => {
      stoppedBy ??= 'deadline';
      overall.abort(new TimeoutError(`deadline of ${o.deadlineMs} ms exceeded`));
    }, o.deadlineMs);
  }
  const tried = new Set<string>();
  const errors: unknown[] = [];
  const stop = (cause: unknown): unknown => {
    if (stoppedBy === 'caller') return callerSignal!.reason;
    return new TimeoutError(`deadline of ${o.deadlineMs} ms exceeded`, { cause });
  };
  try {
    for (let attempt = 1; attempt <= o.attempts; attempt++) {
      if (attempt > 1 && o.maxMs > 0) {
        const ceiling = Math.min(o.maxMs, o.baseMs * 2 ** (attempt - 2));
        try {
          await sleep(random() * ceiling, overall.signal);
        } catch {
          throw stop(errors.at(-1));
        }
      }
      if (overall.signal.aborted) throw stop(errors.at(-1));
      const lease = acquire(pool, tried, o.key);
      if (lease === undefined) {
        if (pool.closed) throw new PoolClosedError();
        if (errors.length === 0) throw new NoEndpointError();
        throw new AttemptsExhaustedError(
          `${errors.length} attempt${errors.length === 1 ? '' : 's'} failed, then no endpoint was eligible; last error: ${describe(errors.at(-1))}`,
          { cause: errors.at(-1), attempts: errors.length, errors },
        );
      }
      tried.add(lease.endpoint.id);
      const controller = new AbortController();
      const onOverallAbort = (): void => controller.abort(overall.signal.reason);
      overall.signal.addEventListener('abort', onOverallAbort, { once: true });
      let attemptTimer: ReturnType<typeof setTimeout> | undefined;
      if (o.perAttemptTimeoutMs > 0) {
        attemptTimer = setTimeout(() => {
          controller.abort(
            new TimeoutError(`attempt ${attempt} timed out after ${o.perAttemptTimeoutMs} ms`),
          );
        }, o.perAttemptTimeoutMs);
      }
      try {
        const value = await raceSignal(
          () => fn(lease.endpoint, { signal: controller.signal, attempt }),
          controller.signal,
        );
        lease.release({ ok: true });
        return value;
      } catch (thrown) {
        // An abort's reason wins over whatever fn threw in answer to it.
        const error = controller.signal.aborted ? controller.signal.reason : thrown;
        if (stoppedBy === 'caller') {
          // Not the endpoint's doing: neither a failure nor a latency sample.
          lease.release({ ok: true, skipLatency: true });
          throw callerSignal!.reason;
        }
        // Released even when the caller's predicate throws (as a failure: the attempt failed).
        let failed = true;
        try {
          failed = o.countsAsFailure(error);
        } finally {
          lease.release(failed ? { ok: false, error } : { ok: true });
        }
        // Cut by the deadline: the cause is the last attempt that ended on its own.
        if (stoppedBy === 'deadline') throw stop(errors.at(-1));
        errors.push(error);
        if (!o.retryOn(error, attempt)) throw error;
      } finally {
        if (attemptTimer !== undefined) clearTimeout(attemptTimer);
        overall.signal.removeEventListener('abort', onOverallAbort);
      }
    }
    const last = errors.at(-1);
    throw new AttemptsExhaustedError(
      `all ${o.attempts} attempt${o.attempts === 1 ? '' : 's'} failed; last error: ${describe(last)}`,
      { cause: last, attempts: errors.length, errors },
    );
  } finally {
    if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
    callerSignal?.removeEventListener('abort', onCallerAbort);
  }
}

/**
 * An endpoint not tried yet when one is eligible, else any eligible endpoint. Every attempt
 * after the first is acquired with `retry: true`, so the pool counts it.
 */
function acquire(
  pool: ExecutePool,
  tried: Set<string>,
  key: string | undefined,
): Lease | undefined {
  if (tried.size === 0) return pool.tryAcquire(key === undefined ? undefined : { key });
  const context =
    key === undefined ? { exclude: tried, retry: true } : { key, exclude: tried, retry: true };
  return (
    pool.tryAcquire(context) ??
    pool.tryAcquire(key === undefined ? { retry: true } : { key, retry: true })
  );
}

/** Runs `start` and settles with it, or rejects with the signal's reason if it aborts first. */
function raceSignal<T>(start: () => T | PromiseLike<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal.removeEventListener('abort', onAbort);
    try {
      Promise.resolve(start()).then(
        (value) => {
          done();
          resolve(value);
        },
        (error: unknown) => {
          done();
          reject(error);
        },
      );
    } catch (error) {
      done();
      reject(error);
    }
  });
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (!(ms > 0)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return quote(error);
}
