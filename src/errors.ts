/**
 * Errors thrown by switchyard. Match on `code`, which is stable within a major version;
 * class identity also works across duplicate installs thanks to a `Symbol.for` brand.
 */

const kSwitchyardError = Symbol.for('switchyard.error');

/** The stable codes carried by {@link SwitchyardError}. */
export type SwitchyardErrorCode =
  | 'ERR_NO_ENDPOINT'
  | 'ERR_POOL_CLOSED'
  | 'ERR_ATTEMPTS_EXHAUSTED'
  | 'ERR_TIMEOUT'
  | 'ERR_ABORTED'
  | 'ERR_HEALTH_CHECK'
  | 'ERR_UPSTREAM_UNAVAILABLE'
  | 'ERR_UPSTREAM_TIMEOUT'
  | 'ERR_BODY_CONSUMED'
  | 'ERR_DISCOVERY'
  | 'ERR_BAD_REQUEST'
  | 'ERR_UNSUPPORTED_ENDPOINT';

/**
 * Base class of every error switchyard throws on purpose.
 *
 * @example
 * ```ts
 * try { pool.acquire(); } catch (err) {
 *   if (isSwitchyardError(err) && err.code === 'ERR_NO_ENDPOINT') { … }
 * }
 * ```
 */
export class SwitchyardError extends Error {
  /** A stable, documented code: match on this rather than on the message. */
  readonly code: SwitchyardErrorCode;

  constructor(code: SwitchyardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'SwitchyardError';
  }

  /** Brand check, so `instanceof` holds across copies of the package. */
  // `this` is the class `instanceof` asks about: a subclass when called through one.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[kSwitchyardError] === true &&
      (this === SwitchyardError ||
        Function.prototype[Symbol.hasInstance].call(this, value) ||
        // A copy of the same class from another install of the package.
        (value as { name?: unknown }).name === this.name)
    );
  }

  /** @internal */
  get [kSwitchyardError](): true {
    return true;
  }
}

/**
 * No endpoint is eligible: the pool is empty, every endpoint is out, or every eligible
 * one was excluded. Code `ERR_NO_ENDPOINT`.
 */
export class NoEndpointError extends SwitchyardError {
  constructor(message = 'no endpoint is eligible', options?: { cause?: unknown }) {
    super('ERR_NO_ENDPOINT', message, options);
    this.name = 'NoEndpointError';
  }
}

/**
 * An active health check failed on what it saw: an unexpected HTTP status, a body that did
 * not match, a connection closed before the expected bytes. Code `ERR_HEALTH_CHECK`.
 * Connection errors from the runtime (`ECONNREFUSED`, …) are passed through unchanged, and
 * a check that runs out of time fails with code `ERR_TIMEOUT`.
 *
 * @example
 * ```ts
 * monitor.onCheck(({ endpoint, ok, error }) => {
 *   if (!ok && isHealthCheckError(error)) console.warn(endpoint.id, error.status, error.message);
 * });
 * ```
 */
export class HealthCheckError extends SwitchyardError {
  /** The HTTP status that failed the check, when there was one. */
  readonly status: number | undefined;

  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super('ERR_HEALTH_CHECK', message, options);
    this.name = 'HealthCheckError';
    this.status = options?.status;
  }
}

/**
 * The pool was closed: `acquire()` and `execute()` refuse new work. Code `ERR_POOL_CLOSED`.
 *
 * @example
 * ```ts
 * await pool.close();
 * pool.acquire(); // throws PoolClosedError
 * ```
 */
export class PoolClosedError extends SwitchyardError {
  constructor(message = 'the pool is closed', options?: { cause?: unknown }) {
    super('ERR_POOL_CLOSED', message, options);
    this.name = 'PoolClosedError';
  }
}

/**
 * Every attempt of `pool.execute()` failed (or the pool ran out of eligible endpoints after
 * at least one attempt). `cause` is the last attempt's error; `errors` holds every attempt's
 * error in order. Code `ERR_ATTEMPTS_EXHAUSTED`.
 *
 * @example
 * ```ts
 * try { await pool.execute(call); } catch (err) {
 *   if (isAttemptsExhaustedError(err)) console.error(err.attempts, err.cause);
 * }
 * ```
 */
export class AttemptsExhaustedError extends SwitchyardError {
  /** How many attempts were made. */
  readonly attempts: number;
  /** The error of each attempt, in order. */
  readonly errors: readonly unknown[];

  constructor(
    message: string,
    options: { cause?: unknown; attempts: number; errors: readonly unknown[] },
  ) {
    super('ERR_ATTEMPTS_EXHAUSTED', message, { cause: options.cause });
    this.name = 'AttemptsExhaustedError';
    this.attempts = options.attempts;
    this.errors = options.errors;
  }
}

/**
 * An operation took longer than allowed: an attempt's `perAttemptTimeoutMs` or the overall
 * `deadlineMs` of `pool.execute()`. Code `ERR_TIMEOUT`.
 *
 * @example
 * ```ts
 * await pool.execute(call, { deadlineMs: 1_000 }).catch((err) => {
 *   if (isTimeoutError(err)) … // took longer than a second in all
 * });
 * ```
 */
export class TimeoutError extends SwitchyardError {
  constructor(message = 'timed out', options?: { cause?: unknown }) {
    super('ERR_TIMEOUT', message, options);
    this.name = 'TimeoutError';
  }
}

/**
 * The HTTP proxy could not get a usable response from any upstream: every attempt failed
 * (connection refused or reset, a bad response, or a retried 5xx on the last endpoint
 * left). The proxy answers `502 Bad Gateway`. `cause` is the last attempt's error.
 * Code `ERR_UPSTREAM_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * createProxyHandler(pool, {
 *   onError(error, req, res) {
 *     if (isUpstreamUnavailableError(error)) res.writeHead(502).end('try again later');
 *   },
 * });
 * ```
 */
export class UpstreamUnavailableError extends SwitchyardError {
  /** The status the proxy answers with: 502. */
  readonly statusCode = 502;
  /** How many attempts were made. */
  readonly attempts: number;
  /** The upstream's status when the last attempt failed on a response (a 5xx), else undefined. */
  readonly upstreamStatus: number | undefined;

  constructor(
    message: string,
    options?: { cause?: unknown; attempts?: number; upstreamStatus?: number },
  ) {
    super('ERR_UPSTREAM_UNAVAILABLE', message, { cause: options?.cause });
    this.name = 'UpstreamUnavailableError';
    this.attempts = options?.attempts ?? 1;
    this.upstreamStatus = options?.upstreamStatus;
  }
}

/**
 * The upstream did not answer in time: connect timeout, no response headers within the
 * per-try timeout, or the request's overall deadline passed. The proxy answers
 * `504 Gateway Timeout`. Code `ERR_UPSTREAM_TIMEOUT`.
 *
 * @example
 * ```ts
 * if (isUpstreamTimeoutError(error)) metrics.timeouts.inc();
 * ```
 */
export class UpstreamTimeoutError extends SwitchyardError {
  /** The status the proxy answers with: 504. */
  readonly statusCode = 504;
  /** How many attempts were made. */
  readonly attempts: number;

  constructor(message: string, options?: { cause?: unknown; attempts?: number }) {
    super('ERR_UPSTREAM_TIMEOUT', message, { cause: options?.cause });
    this.name = 'UpstreamTimeoutError';
    this.attempts = options?.attempts ?? 1;
  }
}

/**
 * The request body was already read by something else (a body parser) and cannot be
 * forwarded from `req.body` either: the proxy refuses with `500` rather than send an
 * empty body. Mount the proxy before body parsers, or let them set `req.body` to a Buffer,
 * a string or JSON. Code `ERR_BODY_CONSUMED`.
 *
 * @example
 * ```ts
 * app.use('/api', createProxyHandler(pool)); // before express.json()
 * app.use(express.json());
 * ```
 */
export class BodyConsumedError extends SwitchyardError {
  /** The status the proxy answers with: 500. */
  readonly statusCode = 500;

  constructor(
    message = 'the request body was already consumed and req.body cannot be forwarded',
    options?: { cause?: unknown },
  ) {
    super('ERR_BODY_CONSUMED', message, options);
    this.name = 'BodyConsumedError';
  }
}

/**
 * Why a discovery lookup failed, carried by {@link DiscoveryError}:
 * - `timeout`: no answer within `timeoutMs`;
 * - `nxdomain`, `servfail`, `refused`, `rcode`: the server answered NXDOMAIN (3),
 *   SERVFAIL (2), REFUSED (5) or another error code (`refused` also when the connection was
 *   refused);
 * - `empty`: the answer held no usable record;
 * - `malformed`: the answer did not parse (or was truncated and the TCP retry failed);
 * - `network`: a socket error;
 * - `aborted`: the lookup was cancelled by `close()`;
 * - `source`: another source's failure (a file that does not parse, an API error);
 * - `apply`: `pool.setEndpoints` refused the discovered set.
 */
export type DiscoveryFailure =
  | 'timeout'
  | 'nxdomain'
  | 'servfail'
  | 'refused'
  | 'rcode'
  | 'empty'
  | 'malformed'
  | 'network'
  | 'aborted'
  | 'source'
  | 'apply';

/**
 * A discovery lookup failed; the pools attached keep their last good set. Given to
 * `discovery.onError` listeners, never thrown at the caller. Code `ERR_DISCOVERY`; `reason`
 * says what went wrong.
 *
 * @example
 * ```ts
 * discovery.onError((error) => {
 *   if (isDiscoveryError(error) && error.reason === 'timeout') metrics.dnsTimeouts.inc();
 * });
 * ```
 */
export class DiscoveryError extends SwitchyardError {
  /** What went wrong. */
  readonly reason: DiscoveryFailure;
  /** The DNS response code, when the server answered with an error. */
  readonly rcode: number | undefined;
  /** The name looked up, when there was one. */
  readonly hostname: string | undefined;

  constructor(
    reason: DiscoveryFailure,
    message: string,
    options?: { cause?: unknown; rcode?: number; name?: string },
  ) {
    super('ERR_DISCOVERY', message, { cause: options?.cause });
    this.name = 'DiscoveryError';
    this.reason = reason;
    this.rcode = options?.rcode;
    this.hostname = options?.name;
  }
}

/**
 * Work was aborted on purpose: the client went away, a response was discarded for a
 * retry, a check was stopped, or a caller aborted. Code `ERR_ABORTED`. The HTTP adapters
 * abort their tries with this error (one reason on every path), so an `AbortSignal`
 * listener or a diagnostics subscriber can tell a deliberate abort from a failure.
 *
 * @example
 * ```ts
 * if (isAbortedError(signal.reason)) return; // not a failure
 * ```
 */
export class AbortedError extends SwitchyardError {
  constructor(message = 'aborted', options?: { cause?: unknown }) {
    super('ERR_ABORTED', message, options);
    this.name = 'AbortedError';
  }
}

/**
 * The proxy cannot forward a request as it stands, and the fault is the client's: a path
 * that climbs above the endpoint's path prefix with dot segments, or a target or header
 * value that the upstream HTTP client refuses. Answered 400; it counts against no
 * endpoint. Code `ERR_BAD_REQUEST`; `cause` is the refusal, when there was one.
 *
 * @example
 * ```ts
 * createProxyHandler(pool, {
 *   onError: (err, req, res) => {
 *     if (isBadRequestError(err)) res.writeHead(400).end('bad request');
 *   },
 * });
 * ```
 */
export class BadRequestError extends SwitchyardError {
  /** The status the proxy answers with: 400. */
  readonly statusCode = 400;

  constructor(message = 'the request cannot be forwarded', options?: { cause?: unknown }) {
    super('ERR_BAD_REQUEST', message, options);
    this.name = 'BadRequestError';
  }
}

/**
 * An endpoint URL the adapter cannot speak to: the HTTP adapters speak `http:` and
 * `https:` only, so `ftp://10.0.0.1:21` or `localhost:80` (read as the scheme `localhost:`)
 * is refused when the adapter is given the pool, and never picked when it arrives later.
 * Code `ERR_UNSUPPORTED_ENDPOINT`; the message names the endpoint, credentials redacted.
 *
 * @example
 * ```ts
 * createProxyHandler(new Pool({ endpoints: ['ftp://127.0.0.1:21'] }));
 * // throws UnsupportedEndpointError: createProxyHandler cannot proxy to endpoint
 * //   "ftp://127.0.0.1:21": its scheme "ftp:" is not http: or https:
 * ```
 */
export class UnsupportedEndpointError extends SwitchyardError {
  /** The endpoint's id (credentials redacted). */
  readonly endpoint: string;

  constructor(message: string, endpoint: string, options?: { cause?: unknown }) {
    super('ERR_UNSUPPORTED_ENDPOINT', message, options);
    this.name = 'UnsupportedEndpointError';
    this.endpoint = endpoint;
  }
}

/** True when `value` is any switchyard error (works across duplicate installs). */
export function isSwitchyardError(value: unknown): value is SwitchyardError {
  return value instanceof SwitchyardError;
}

/** True when `value` is a {@link NoEndpointError} (code `ERR_NO_ENDPOINT`). */
export function isNoEndpointError(value: unknown): value is NoEndpointError {
  return isSwitchyardError(value) && value.code === 'ERR_NO_ENDPOINT';
}

/** True when `value` is a {@link HealthCheckError} (code `ERR_HEALTH_CHECK`). */
export function isHealthCheckError(value: unknown): value is HealthCheckError {
  return isSwitchyardError(value) && value.code === 'ERR_HEALTH_CHECK';
}

/** True when `value` is a {@link PoolClosedError} (code `ERR_POOL_CLOSED`). */
export function isPoolClosedError(value: unknown): value is PoolClosedError {
  return isSwitchyardError(value) && value.code === 'ERR_POOL_CLOSED';
}

/** True when `value` is an {@link AttemptsExhaustedError} (code `ERR_ATTEMPTS_EXHAUSTED`). */
export function isAttemptsExhaustedError(value: unknown): value is AttemptsExhaustedError {
  return isSwitchyardError(value) && value.code === 'ERR_ATTEMPTS_EXHAUSTED';
}

/** True when `value` is a {@link TimeoutError} (code `ERR_TIMEOUT`). */
export function isTimeoutError(value: unknown): value is TimeoutError {
  return isSwitchyardError(value) && value.code === 'ERR_TIMEOUT';
}

/** True when `value` is an {@link UpstreamUnavailableError} (code `ERR_UPSTREAM_UNAVAILABLE`). */
export function isUpstreamUnavailableError(value: unknown): value is UpstreamUnavailableError {
  return isSwitchyardError(value) && value.code === 'ERR_UPSTREAM_UNAVAILABLE';
}

/** True when `value` is an {@link UpstreamTimeoutError} (code `ERR_UPSTREAM_TIMEOUT`). */
export function isUpstreamTimeoutError(value: unknown): value is UpstreamTimeoutError {
  return isSwitchyardError(value) && value.code === 'ERR_UPSTREAM_TIMEOUT';
}

/** True when `value` is a {@link BodyConsumedError} (code `ERR_BODY_CONSUMED`). */
export function isBodyConsumedError(value: unknown): value is BodyConsumedError {
  return isSwitchyardError(value) && value.code === 'ERR_BODY_CONSUMED';
}

/** True when `value` is a {@link DiscoveryError} (code `ERR_DISCOVERY`). */
export function isDiscoveryError(value: unknown): value is DiscoveryError {
  return isSwitchyardError(value) && value.code === 'ERR_DISCOVERY';
}

/** True when `value` is an {@link AbortedError} (code `ERR_ABORTED`). */
export function isAbortedError(value: unknown): value is AbortedError {
  return isSwitchyardError(value) && value.code === 'ERR_ABORTED';
}

/** True when `value` is a {@link BadRequestError} (code `ERR_BAD_REQUEST`). */
export function isBadRequestError(value: unknown): value is BadRequestError {
  return isSwitchyardError(value) && value.code === 'ERR_BAD_REQUEST';
}

/** True when `value` is an {@link UnsupportedEndpointError} (code `ERR_UNSUPPORTED_ENDPOINT`). */
export function isUnsupportedEndpointError(value: unknown): value is UnsupportedEndpointError {
  return isSwitchyardError(value) && value.code === 'ERR_UNSUPPORTED_ENDPOINT';
}
