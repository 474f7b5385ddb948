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
  | 'ERR_HEALTH_CHECK';

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
