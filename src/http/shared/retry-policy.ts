import { checkBoolean, checkNumber, checkOptions, quote } from '../../validate.js';
import { DEFAULT_MAX_RETRY_AFTER_MS } from './retry-after.js';
import { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';

/** Tries per request, the first included. */
export const DEFAULT_RETRY_ATTEMPTS = 3;
/** Upstream statuses retried (for requests that may be retried). */
export const DEFAULT_RETRY_STATUSES: readonly number[] = Object.freeze([502, 503, 504]);
/** Largest request body kept in memory so that it can be sent again. */
export const DEFAULT_BODY_BUFFER_BYTES = 64 * 1024;

/** Retry options of the proxy (and of the balanced dispatcher). */
export interface RetryOptions {
  /**
   * Tries per request, the first included; `1` turns retries off.
   * @default 3
   */
  readonly attempts?: number;
  /**
   * Upstream response statuses that count as a failed try and are retried on another
   * endpoint, for requests that may be retried (idempotent methods, or an
   * `Idempotency-Key`, or `nonIdempotent`). On the last try the response is forwarded.
   * @default [502, 503, 504]
   */
  readonly statuses?: readonly number[];
  /**
   * Request bodies up to this size are buffered before sending, so that they can be sent
   * again; a larger body is streamed and not retried once sending started. `0` streams
   * every body.
   * @default 65_536
   */
  readonly bodyBufferBytes?: number;
  /**
   * Retry non-idempotent methods (POST, PATCH, …) after they were sent, as idempotent ones.
   * Only for upstreams that deduplicate requests themselves.
   * @default false
   */
  readonly nonIdempotent?: boolean;
  /**
   * The retry budget: options, a shared {@link RetryBudget} instance (one budget for
   * several proxies), or `false` for none.
   * @default { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 }
   */
  readonly budget?: RetryBudgetOptions | RetryBudget | false;
  /**
   * Cap on a `Retry-After` (503, 429) given to the pool, in ms.
   * @default 60_000
   */
  readonly maxRetryAfterMs?: number;
}

const KNOWN = [
  'attempts',
  'statuses',
  'bodyBufferBytes',
  'nonIdempotent',
  'budget',
  'maxRetryAfterMs',
];

/**
 * What went wrong on one try, as far as retrying goes:
 * - `connect`: the connection could not be made (refused, unreachable, DNS, TLS);
 * - `connect-timeout`: the connection timed out;
 * - `reset`: the connection broke (reset, closed) before the response;
 * - `headers-timeout`: no response headers in time;
 * - `body-timeout`: the response body stalled;
 * - `aborted`: aborted on purpose (the client went away);
 * - `other`: anything else (a bad request, a protocol error): never retried.
 */
export type FailureKind =
  | 'connect'
  | 'connect-timeout'
  | 'reset'
  | 'headers-timeout'
  | 'body-timeout'
  | 'aborted'
  | 'other';

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  // The endpoint's connection pool was closed (it left the pool) before the request went out.
  'UND_ERR_DESTROYED',
  'UND_ERR_CLOSED',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);

/** Classifies a transport error from undici or `node:net`. */
export function classifyError(error: unknown): FailureKind {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') {
    return (error as { name?: unknown } | null)?.name === 'AbortError' ? 'aborted' : 'other';
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'connect-timeout';
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'headers-timeout';
  if (code === 'UND_ERR_BODY_TIMEOUT') return 'body-timeout';
  if (code === 'UND_ERR_ABORTED' || code === 'UND_ERR_ABORT' || code === 'ABORT_ERR') {
    return 'aborted';
  }
  if (CONNECT_CODES.has(code)) return 'connect';
  if (RESET_CODES.has(code)) return 'reset';
  // TLS handshake failures happen before any request byte is written.
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.includes('CERT')) {
    return 'connect';
  }
  return 'other';
}

/** True for a timeout (answered 504 rather than 502). */
export function isTimeoutKind(kind: FailureKind): boolean {
  return kind === 'connect-timeout' || kind === 'headers-timeout' || kind === 'body-timeout';
}

/** Idempotent methods (RFC 9110 §9.2.2). */
export function isIdempotentMethod(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'TRACE':
    case 'PUT':
    case 'DELETE':
      return true;
    default:
      return false;
  }
}

/** Facts about one request that the retry rules read. */
export interface RetryFacts {
  /** The method is idempotent, or carries an `Idempotency-Key`, or `nonIdempotent` is set. */
  readonly safeToRepeat: boolean;
  /** The body (if any) can be sent again: none, or buffered. */
  readonly replayable: boolean;
}

/**
 * The failover rules of NGINX's `proxy_next_upstream` and Envoy's retry policy, as pure
 * decisions (attempt count and budget are the caller's).
 *
 * @example
 * ```ts
 * const policy = new RetryPolicy({ attempts: 3 });
 * policy.retriesError('connect', false, facts); // true: the upstream never saw it
 * ```
 */
export class RetryPolicy {
  /** Tries per request, the first included. */
  readonly attempts: number;
  /** Bodies up to this size are buffered for replay. */
  readonly bodyBufferBytes: number;
  /** Whether non-idempotent methods are retried as idempotent ones. */
  readonly nonIdempotent: boolean;
  /** The retry budget, or `undefined` when there is none. */
  readonly budget: RetryBudget | undefined;
  /** Cap on `Retry-After`, in ms. */
  readonly maxRetryAfterMs: number;
  /** The statuses retried. */
  readonly statuses: readonly number[];
  readonly #statusTable = new Uint8Array(600);

  /**
   * @throws TypeError for an unknown option or a wrong type; RangeError for `attempts` < 1,
   *   a status outside 100–599, or a negative `bodyBufferBytes`.
   */
  constructor(options?: RetryOptions, now?: () => number) {
    const o = checkOptions('retry', options, KNOWN);
    this.attempts = checkNumber(
      'retry.attempts',
      o.attempts === undefined ? DEFAULT_RETRY_ATTEMPTS : o.attempts,
      {
        min: 1,
        max: 100,
        integer: true,
      },
    );
    this.bodyBufferBytes = checkNumber(
      'retry.bodyBufferBytes',
      o.bodyBufferBytes === undefined ? DEFAULT_BODY_BUFFER_BYTES : o.bodyBufferBytes,
      { min: 0, integer: true },
    );
    this.nonIdempotent = checkBoolean(
      'retry.nonIdempotent',
      o.nonIdempotent === undefined ? false : o.nonIdempotent,
    );
    this.maxRetryAfterMs = checkNumber(
      'retry.maxRetryAfterMs',
      o.maxRetryAfterMs === undefined ? DEFAULT_MAX_RETRY_AFTER_MS : o.maxRetryAfterMs,
      { min: 0 },
    );
    const statuses = o.statuses === undefined ? DEFAULT_RETRY_STATUSES : o.statuses;
    if (!Array.isArray(statuses)) {
      throw new TypeError(`retry.statuses must be an array of statuses, got ${quote(statuses)}`);
    }
    for (const status of statuses) {
      checkNumber('retry.statuses[]', status, { min: 100, max: 599, integer: true });
      this.#statusTable[status] = 1;
    }
    this.statuses = Object.freeze([...statuses]);
    const budget = o.budget;
    if (budget === false) this.budget = undefined;
    else if (budget instanceof RetryBudget) this.budget = budget;
    else {
      const budgetOptions = budget as RetryBudgetOptions | undefined;
      this.budget = new RetryBudget(
        now !== undefined && budgetOptions?.now === undefined
          ? { ...budgetOptions, now }
          : budgetOptions,
      );
    }
  }

  /** True when `status` is one of `statuses`. */
  isRetryStatus(status: number): boolean {
    return this.#statusTable[status] === 1;
  }

  /**
   * Whether a try that failed with `kind` may be repeated on another endpoint.
   *
   * @param kind - what went wrong
   * @param sent - whether the request started going out (undici began writing it)
   * @param bodyUnread - whether the body, if streamed, was not read at all yet
   * @param facts - the request's method safety and body replayability
   */
  retriesError(kind: FailureKind, sent: boolean, bodyUnread: boolean, facts: RetryFacts): boolean {
    if (kind === 'other' || kind === 'aborted' || kind === 'body-timeout') return false;
    // Provably never reached the upstream: any method, as long as the body is still whole.
    if (!sent) return facts.replayable || bodyUnread;
    return facts.replayable && facts.safeToRepeat;
  }

  /** Whether a response with `status` is discarded and the request repeated elsewhere. */
  retriesStatus(status: number, facts: RetryFacts): boolean {
    return this.#statusTable[status] === 1 && facts.replayable && facts.safeToRepeat;
  }
}
