/**
 * What the proxy's exchanges and the balanced dispatcher's share about a try: whether and
 * where the next one goes, the outcome each try's lease is released with, and the coded
 * error a request ends with when no try got a response.
 * @internal
 */

import { UpstreamTimeoutError, UpstreamUnavailableError } from '../../errors.js';
import type { Lease, PoolLike, ReleaseOutcome } from '../../pool/types.js';
import { parseRetryAfter } from './retry-after.js';
import { type FailureKind, isTimeoutKind, type RetryPolicy } from './retry-policy.js';

/** What a try needs of its owner (the proxy's engine, the dispatcher's balancer). */
export interface TrySource {
  /** The pool retries are claimed from. */
  readonly pool: Pick<PoolLike, 'tryAcquire'>;
  /** The failover rules and the retry budget. */
  readonly policy: RetryPolicy;
  /** The clock `Retry-After` dates are read against. */
  readonly now: () => number;
}

/** Not the endpoint's doing (the client left, the caller aborted or threw): no failure, no latency sample. */
export const NOT_THEIRS: ReleaseOutcome = Object.freeze({ ok: true, skipLatency: true });

/**
 * The lease for the next try, on an endpoint not tried yet, or `undefined` when the
 * request may not be retried now: no attempt left, the budget spent, or no other endpoint
 * eligible. `failed` joins `tried`; a retry is withdrawn from the budget only when it gets
 * a lease.
 */
export function nextLease(
  source: TrySource,
  key: string | undefined,
  attempts: number,
  failed: Lease,
  tried: Set<string>,
): Lease | undefined {
  const policy = source.policy;
  if (attempts >= policy.attempts) return undefined;
  const budget = policy.budget;
  if (budget !== undefined && !budget.canRetry()) return undefined;
  tried.add(failed.endpoint.id);
  let next: Lease | undefined;
  try {
    // `retry: true`: the pool counts the retry (the dashboard's and /metrics' figure).
    next = source.pool.tryAcquire(
      key === undefined ? { exclude: tried, retry: true } : { key, exclude: tried, retry: true },
    );
  } catch {
    // A pool closed meanwhile: no retry, the try's own failure stands.
    return undefined;
  }
  if (next !== undefined) budget?.tryRetry();
  return next;
}

/** The `Retry-After` of a 503 or 429 response in ms, capped by the policy; 0 for none. */
export function retryAfterOf(
  source: TrySource,
  statusCode: number,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): number {
  if (statusCode !== 503 && statusCode !== 429) return 0;
  const policy = source.policy;
  return parseRetryAfter(headers['retry-after'], source.now(), policy.maxRetryAfterMs) ?? 0;
}

/** The error of a try the endpoint answered with a failing `status`. */
export function statusError(status: number, attempts: number): UpstreamUnavailableError {
  return new UpstreamUnavailableError(`upstream answered ${status}`, {
    attempts,
    upstreamStatus: status,
  });
}

/**
 * The outcome of a try whose response was delivered: a 5xx is the endpoint's failure (as
 * NGINX's `max_fails` counts it), anything else a success; both carry the latency (time to
 * response headers) and a `Retry-After`, when there was one.
 */
export function responseOutcome(
  status: number,
  attempts: number,
  latencyMs: number,
  retryAfterMs: number,
): ReleaseOutcome {
  if (status >= 500) {
    const error = statusError(status, attempts);
    return retryAfterMs > 0
      ? { ok: false, error, retryAfterMs, latencyMs }
      : { ok: false, error, latencyMs };
  }
  // The pool reads no clock for a success that carries its latency.
  return retryAfterMs > 0 ? { ok: true, retryAfterMs, latencyMs } : { ok: true, latencyMs };
}

/** The outcome of a try given up for a retry, with the endpoint's `Retry-After` if any. */
export function retriedOutcome(error: unknown, retryAfterMs: number): ReleaseOutcome {
  return retryAfterMs > 0 ? { ok: false, error, retryAfterMs } : { ok: false, error };
}

/** `1 attempt`, `3 attempts`. */
export function attemptsText(attempts: number): string {
  return attempts === 1 ? '1 attempt' : `${attempts} attempts`;
}

/**
 * The error a request ends with when no try got a response: coded (`ERR_UPSTREAM_TIMEOUT`
 * for a timeout, else `ERR_UPSTREAM_UNAVAILABLE`), the last try's error as `cause`, its
 * code in the message.
 */
export function upstreamError(kind: FailureKind, cause: Error, attempts: number): Error {
  const tries = attemptsText(attempts);
  const code = (cause as { code?: unknown }).code;
  const detail = typeof code === 'string' ? ` (${code})` : '';
  if (isTimeoutKind(kind)) {
    const what = kind === 'connect-timeout' ? 'connecting' : 'waiting for the response';
    return new UpstreamTimeoutError(`upstream timed out ${what}${detail} after ${tries}`, {
      cause,
      attempts,
    });
  }
  const what =
    kind === 'connect'
      ? 'upstream connection failed'
      : kind === 'reset'
        ? 'upstream connection broke'
        : 'upstream request failed';
  return new UpstreamUnavailableError(`${what}${detail} after ${tries}`, { cause, attempts });
}
