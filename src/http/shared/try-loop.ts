/**
 * The try loop, in one place for the proxy, its upgrades and the balanced dispatcher: the
 * first lease, a try sent on it, and on a failure the rules allow, the next lease on an
 * endpoint not tried yet — with the attempt count, the retry budget, the discard guard,
 * `Retry-After`, the latency sample and every lease's release decided here, once.
 *
 * Each request owns one `TryLoop` (a plain object of a few fields, allocated with the
 * request; no closure, no promise). Measured with `npm run bench:try-loop` against the
 * same steps inline in the exchange: about +36 ns per request (on a loaded 2-core
 * machine; a proxied request costs tens of µs), kept for one home of the rules. The request's own object stays the undici handler of
 * every try and tells the loop what happened; the loop answers with a verdict and calls the
 * owner back only to send the next try, off undici's stack.
 * @internal
 */

import type { Dispatcher } from 'undici';
import { AbortedError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Lease, PoolEndpoint, PoolLike, ReleaseOutcome } from '../../pool/types.js';
import { redactCredentials } from '../../validate.js';
import {
  NOT_THEIRS,
  nextLease,
  responseOutcome,
  retriedOutcome,
  retryAfterOf,
  statusError,
  type TrySource,
  upstreamError,
} from './attempt-outcome.js';
import { unsupportedEndpoint } from './endpoint-scheme.js';
import { classifyError, type FailureKind, type RetryFacts } from './retry-policy.js';

type Controller = Dispatcher.DispatchController;
type Headers = Readonly<Record<string, string | string[] | undefined>>;

const OK: ReleaseOutcome = Object.freeze({ ok: true });

/** The reason a try is aborted with when its response is discarded for a retry. */
export const DISCARDED = new AbortedError('response discarded for a retry');

/** The reason a try is aborted with when the client went away (or the caller aborted). */
export const CLIENT_GONE = new AbortedError('the client went away');

/**
 * Errors that say the request itself is wrong (undici refused a header value, a target, a
 * body length): the caller's fault, never the endpoint's.
 */
const CALLER_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_REQ_RETRY',
]);

/** What the loop needs of its adapter (the proxy's engine, the dispatcher's balancer). */
export interface TryTarget extends TrySource {
  /** The pool, as the loop uses it. */
  readonly pool: Pick<PoolLike, 'acquire' | 'tryAcquire'>;
  /** Closing: requests in flight finish, but start no new try. */
  readonly closed: boolean;
  /** Ids of endpoints the adapter cannot speak to: never picked. */
  readonly unsupported: ReadonlySet<string>;
  /** Told of every failed try (`warn`); undefined for none, and then nothing is built. */
  readonly logger?: Logger | undefined;
  /**
   * Sends one try to `endpoint`, `path` being the request's (normalised) path and query.
   * May throw (an endpoint it cannot reach): the loop makes that a failed try.
   */
  send(
    endpoint: PoolEndpoint,
    opts: Dispatcher.DispatchOptions,
    path: string,
    handler: Dispatcher.DispatchHandler,
  ): void;
}

/** What the loop needs of the request it serves. */
export interface TryOwner extends RetryFacts {
  /** Sends the next try: called off undici's stack once a retry was decided. */
  retryNow(): void;
  /** A try failed and the request moves to another endpoint (for diagnostics). */
  retrying(failed: PoolEndpoint, attempt: number, reason: string, error: unknown): void;
}

/** {@link TryLoop.failed}: a retry is on its way; nothing to do. */
export const RETRYING = 0;
/** {@link TryLoop.failed}: the endpoint failed and no try is left; `loop.error` says why. */
export const EXHAUSTED = 1;
/** {@link TryLoop.failed}: the request is the caller's fault; `loop.error` is the refusal. */
export const CALLER_FAULT = 2;

/** @internal */
export class TryLoop {
  /** The lease of the try in progress (or of the last one). */
  lease: Lease | undefined = undefined;
  /** Tries made, the one in progress included. */
  attempts = 0;
  /** The try in progress started going out (undici began writing it). */
  sent = false;
  /** The controller of the try in progress, once undici gave one. */
  controller: Controller | null = null;
  /** The status of the delivered response. */
  status = 0;
  /** Its `Retry-After`, ms (0 for none). */
  retryAfterMs = 0;
  /** Its latency sample: time to response headers, ms. */
  latencyMs = 0;
  /** Why the request ended, after {@link TryLoop.failed} said {@link EXHAUSTED} or {@link CALLER_FAULT}. */
  error: Error | undefined = undefined;
  /** The hash key of the request, if any. */
  key: string | undefined = undefined;

  readonly #target: TryTarget;
  readonly #owner: TryOwner;
  #tried: Set<string> | undefined = undefined;
  #discarding = false;
  #unstartable = false;

  constructor(target: TryTarget, owner: TryOwner) {
    this.#target = target;
    this.#owner = owner;
  }

  /**
   * Claims the first lease: the endpoint `prefer` names when it is eligible (cookie
   * affinity), else the pool's pick (with the key, if any).
   * @returns undefined, or the error to end the request with: `NoEndpointError`,
   *   `PoolClosedError`, or what a custom selector threw, as is.
   */
  first(prefer?: string): unknown {
    const target = this.#target;
    const unsupported = target.unsupported;
    const key = this.key;
    try {
      if (unsupported.size === 0) {
        if (prefer !== undefined) this.lease = target.pool.acquire({ prefer });
        else this.lease = key === undefined ? target.pool.acquire() : target.pool.acquire({ key });
      } else if (prefer !== undefined) {
        this.lease = target.pool.acquire({ prefer, exclude: unsupported });
      } else {
        this.lease =
          key === undefined
            ? target.pool.acquire({ exclude: unsupported })
            : target.pool.acquire({ key, exclude: unsupported });
      }
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /**
   * Sends a try on the current lease; `handler` is the owner, as undici's handler.
   * Whatever goes wrong, even synchronously, reaches `handler.onResponseError`.
   */
  send(opts: Dispatcher.DispatchOptions, path: string, handler: Dispatcher.DispatchHandler): void {
    this.attempts++;
    this.sent = false;
    this.controller = null;
    this.#unstartable = false;
    const target = this.#target;
    const endpoint = this.lease!.endpoint;
    const unsupported = target.unsupported;
    if (unsupported.size !== 0 && unsupported.has(endpoint.id)) {
      // Only a pool that ignores `exclude` gets here. A try that cannot start is a failed
      // try that never left: the next endpoint gets the request.
      this.#unstartable = true;
      handler.onResponseError?.(
        null as unknown as Controller,
        unsupportedEndpoint('the HTTP adapter', endpoint),
      );
      return;
    }
    try {
      target.send(endpoint, opts, path, handler);
    } catch (error) {
      handler.onResponseError?.(null as unknown as Controller, error as Error);
    }
  }

  /** undici's `onRequestStart` of the try in progress. */
  started(controller: Controller): void {
    this.controller = controller;
    this.sent = true;
  }

  /** True while a try is being discarded: its error report is to be ignored. */
  get discarding(): boolean {
    return this.#discarding;
  }

  /**
   * Response headers (status ≥ 200) of the try in progress: either a status to retry on
   * another endpoint — the response is then discarded, the next try scheduled, and `true`
   * returned — or the response to deliver, whose status, `Retry-After` and latency the loop
   * records for the release.
   */
  retriesResponse(controller: Controller, statusCode: number, headers: Headers): boolean {
    const target = this.#target;
    const retryAfterMs = retryAfterOf(target, statusCode, headers);
    if (target.policy.retriesStatus(statusCode, this.#owner)) {
      const next = this.#next();
      if (next !== undefined) {
        const error = statusError(statusCode, this.attempts);
        // Discarded unread: the connection goes with it.
        this.discard(controller, DISCARDED);
        this.#retry(next, `status ${statusCode}`, error, retryAfterMs);
        return true;
      }
    }
    this.controller = controller;
    // Latency is time to headers, so a long download or an event stream does not make the
    // endpoint look slow. One clock read, the pool's, which started the lease.
    this.latencyMs = this.lease!.elapsedMs();
    this.status = statusCode;
    this.retryAfterMs = retryAfterMs;
    return false;
  }

  /**
   * The try in progress failed before its response was delivered. `bodyUnread`: no byte
   * of a streamed body was read yet. Returns {@link RETRYING}, {@link EXHAUSTED} (the
   * lease released as a failure, `error` the coded upstream error) or
   * {@link CALLER_FAULT} (released as not the endpoint's, `error` the refusal as is).
   */
  failed(error: Error, bodyUnread: boolean): number {
    const kind: FailureKind = this.#unstartable ? 'connect' : classifyError(error);
    if (kind === 'other') {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && CALLER_CODES.has(code)) {
        this.#release(NOT_THEIRS);
        this.error = error;
        return CALLER_FAULT;
      }
    }
    if (this.#target.policy.retriesError(kind, this.sent, bodyUnread, this.#owner)) {
      const next = this.#next();
      if (next !== undefined) {
        this.#retry(next, kind, error, 0);
        return RETRYING;
      }
    }
    this.#release({ ok: false, error });
    this.error = upstreamError(kind, error, this.attempts);
    if (this.#target.logger !== undefined) this.#logFailure(kind, error, false);
    return EXHAUSTED;
  }

  /** The delivered response ended: the lease is released with its outcome. */
  delivered(): void {
    this.#release(responseOutcome(this.status, this.attempts, this.latencyMs, this.retryAfterMs));
  }

  /** The delivered response broke mid-body: the endpoint's failure. */
  broke(error: unknown): void {
    this.#release({ ok: false, error, latencyMs: this.latencyMs });
  }

  /** The try in progress failed for `error` with no retry (a timeout, an invalid response). */
  fail(error: unknown): void {
    this.#release({ ok: false, error });
  }

  /** The try in progress succeeded without a response to measure (an upgrade). */
  succeeded(): void {
    this.#release(OK);
  }

  /**
   * Ends the request for a reason that is not the endpoint's (the client left, the caller
   * aborted or threw): the try in progress, if any, is aborted with `reason`, and a lease
   * still held is released without a failure or a latency sample.
   */
  abandon(reason: Error | undefined): void {
    const controller = this.controller;
    this.controller = null;
    if (controller !== null && reason !== undefined) this.discard(controller, reason);
    this.#release(NOT_THEIRS);
  }

  /** Aborts a try whose outcome no longer matters, ignoring the error it reports. */
  discard(controller: Controller, reason: Error): void {
    if (controller === this.controller) this.controller = null;
    this.#discarding = true;
    try {
      controller.abort(reason);
    } finally {
      this.#discarding = false;
    }
  }

  /** The lease for the next try, or undefined when the request may not be retried now. */
  #next(): Lease | undefined {
    const target = this.#target;
    if (target.closed) return undefined;
    // Endpoints the adapter cannot speak to count as tried: never picked.
    const tried = (this.#tried ??= new Set(target.unsupported));
    return nextLease(target, this.key, this.attempts, this.lease!, tried);
  }

  #retry(next: Lease, reason: string, error: unknown, retryAfterMs: number): void {
    if (this.#target.logger !== undefined) this.#logFailure(reason, error, true);
    const failed = this.lease!;
    failed.release(retriedOutcome(error, retryAfterMs));
    this.lease = next;
    this.controller = null;
    this.#owner.retrying(failed.endpoint, this.attempts, reason, error);
    // Off undici's stack: the failed try's connection is still unwinding.
    process.nextTick(retryTick, this.#owner);
  }

  /** Tells the logger of the failed try in progress. */
  #logFailure(reason: string, error: unknown, retrying: boolean): void {
    const endpoint = redactCredentials(this.lease!.endpoint.id);
    const attempt = this.attempts;
    const detail = error instanceof Error ? error.message : String(error);
    this.#target.logger!.warn(
      { endpoint, attempt, reason, retrying, err: error },
      `try ${attempt} on ${endpoint} failed (${reason}: ${detail}); ${retrying ? 'retrying on another endpoint' : 'no retry'}`,
    );
  }

  #release(outcome: ReleaseOutcome): void {
    this.lease?.release(outcome);
  }
}

function retryTick(owner: TryOwner): void {
  owner.retryNow();
}
