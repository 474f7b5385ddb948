/**
 * One request through the balanced dispatcher: picks an endpoint, sends a try, and on a
 * failure the retry rules allow, sends the next try to an endpoint not tried yet — until
 * the caller's handler has seen the response start, after which nothing is retried. The
 * object is the undici handler of every try; the caller's handler sees one request with
 * one controller.
 * @internal
 */

import type { Duplex } from 'node:stream';
import { type Dispatcher, errors } from 'undici';
import type { Lease, ReleaseOutcome } from '../../pool/types.js';
import {
  NOT_THEIRS,
  nextLease,
  responseOutcome,
  retriedOutcome,
  retryAfterOf,
  statusError,
  upstreamError,
} from '../shared/attempt-outcome.js';
import { targetPath } from '../shared/request-target.js';
import { classifyError, isIdempotentMethod, type RetryFacts } from '../shared/retry-policy.js';
import { BalancedController, type Balancer } from './balancer.js';
import {
  BODY_REPLAYABLE,
  BODY_STREAM,
  bodyKind,
  type ChunkIterator,
  type DispatchHeadFacts,
  iteratorOf,
  readHeadFacts,
  StreamedBody,
  toChunk,
} from './dispatch-body.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;
type Headers = Record<string, string | string[] | undefined>;

/** Before the first try, or between two tries. */
const S_START = 0;
/** Reading a stream body into memory so that it can be sent again. */
const S_BUFFERING = 1;
/** A try is out; no response headers yet. */
const S_WAITING = 2;
/** The caller's handler has the response: no more retries. */
const S_STREAMING = 3;
const S_DONE = 4;

const OK: ReleaseOutcome = Object.freeze({ ok: true });
const DISCARDED = new errors.RequestAbortedError('response discarded for a retry');

// Errors that say the request itself is wrong: passed through as is, and not held against
// the endpoint.
const CALLER_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_REQ_RETRY',
]);

/** @internal */
export class BalancedExchange implements Handler, RetryFacts, DispatchHeadFacts {
  idempotencyKey = false;
  contentLength = -1;
  safeToRepeat = false;
  replayable = true;

  readonly #balancer: Balancer;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #handler: Handler;
  readonly #controller: BalancedController;
  #state = S_START;
  #path = '';
  #key: string | undefined;
  #body: unknown = null;
  /** A stream body this exchange started reading, and its iterator: to let go of on failure. */
  #source: object | undefined;
  #iterator: ChunkIterator | undefined;
  #lease: Lease | undefined;
  #tried: Set<string> | undefined;
  #attempts = 0;
  #try: Controller | null = null;
  #sent = false;
  #discarding = false;
  #callerThrew = false;
  #status = 0;
  #retryAfterMs = 0;
  #latencyMs = 0;

  constructor(balancer: Balancer, opts: Dispatcher.DispatchOptions, handler: Handler) {
    this.#balancer = balancer;
    this.#opts = opts;
    this.#handler = handler;
    this.#controller = new BalancedController(this);
  }

  /** Starts the request. Never throws: every failure reaches the caller's `onResponseError`. */
  start(): void {
    const opts = this.#opts;
    const balancer = this.#balancer;
    balancer.begin();
    // The caller gets its controller at once, so that it can abort while a try is still
    // connecting or waiting between tries.
    try {
      this.#handler.onRequestStart?.(this.#controller, null);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (this.#state === S_DONE) return;
    const method = opts.method;
    if (method === 'CONNECT') {
      this.#fail(new errors.NotSupportedError('CONNECT is not supported by a balanced dispatcher'));
      return;
    }
    const path = typeof opts.path === 'string' ? targetPath(opts.path) : undefined;
    if (path === undefined) {
      this.#fail(
        new errors.InvalidArgumentError('path must be an absolute URL or start with a slash'),
      );
      return;
    }
    this.#path = path;
    const keyFn = balancer.key;
    if (keyFn !== undefined) {
      try {
        this.#key = keyFn(opts) ?? undefined;
      } catch (error) {
        this.#fail(error);
        return;
      }
    }
    const body = opts.body;
    const kind = bodyKind(body);
    const idempotent = isIdempotentMethod(method);
    if (!idempotent || kind === BODY_STREAM) readHeadFacts(opts.headers, this);
    const policy = balancer.policy;
    this.safeToRepeat = idempotent || this.idempotencyKey || policy.nonIdempotent;
    policy.budget?.recordRequest();
    this.#body = body ?? null;
    if (kind !== BODY_STREAM) {
      // Bytes, strings, Blobs and FormData are sent afresh by every try; anything else is
      // undici's to refuse.
      this.replayable = kind === BODY_REPLAYABLE;
      this.#attempt();
      return;
    }
    const limit = policy.bodyBufferBytes;
    if (limit > 0 && this.contentLength <= limit) {
      this.#state = S_BUFFERING;
      this.#source = body as object;
      void this.#buffer((this.#iterator = iteratorOf(body as object)), limit);
      return;
    }
    // Too large to hold: sent as it comes, retried only while not a byte of it was read.
    this.replayable = false;
    this.#attempt();
  }

  /**
   * Reads a stream body up to `limit` bytes: when it ends within them, it is replayable;
   * past them, it is sent as what was read followed by the rest of the stream.
   */
  async #buffer(iterator: ChunkIterator, limit: number): Promise<void> {
    const chunks: Buffer[] = [];
    let bytes = 0;
    try {
      for (;;) {
        const step = await iterator.next();
        if (this.#state !== S_BUFFERING) return;
        if (step.done === true) break;
        const chunk = toChunk(step.value);
        chunks.push(chunk);
        bytes += chunk.length;
        if (bytes > limit) break;
      }
    } catch (error) {
      if (this.#state !== S_BUFFERING) return;
      // The caller's body failed: its error, as is.
      this.#source = this.#iterator = undefined;
      this.#fail(error);
      return;
    }
    if (bytes > limit) {
      this.replayable = false;
      this.#body = new StreamedBody(iterator, chunks);
    } else {
      this.#source = this.#iterator = undefined;
      this.#body =
        bytes === 0 ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
    }
    this.#state = S_START;
    this.#attempt();
  }

  /** Sends one try on the current lease (acquiring the first one). */
  #attempt(): void {
    if (this.#state === S_DONE) return;
    let lease = this.#lease;
    if (lease === undefined) {
      try {
        lease = this.#balancer.acquire(this.#key);
      } catch (error) {
        // NoEndpointError or PoolClosedError, coded: the caller's to match on.
        this.#fail(error);
        return;
      }
      this.#lease = lease;
    }
    this.#attempts++;
    this.#sent = false;
    this.#try = null;
    this.#state = S_WAITING;
    const opts = { ...this.#opts, body: this.#body } as Dispatcher.DispatchOptions;
    this.#balancer.send(lease.endpoint, opts, this.#path, this);
  }

  /** @internal Runs the next try (off undici's stack). */
  retryNow(): void {
    if (this.#state === S_START) this.#attempt();
  }

  onRequestStart(controller: Controller): void {
    if (this.#state !== S_WAITING) {
      this.#discard(controller, this.#controller.reason ?? DISCARDED);
      return;
    }
    this.#try = controller;
    this.#sent = true;
    this.#controller.target = controller;
  }

  onRequestUpgrade(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    socket: Duplex,
  ): void {
    if (this.#state !== S_WAITING) {
      socket.destroy();
      return;
    }
    this.#end();
    this.#controller.target = controller;
    this.#release(OK);
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headers, socket);
  }

  onResponseStarted(): void {
    if (this.#state === S_WAITING) this.#handler.onResponseStarted?.();
  }

  onBodySent(chunk: Buffer): void {
    if (this.#state === S_WAITING) this.#handler.onBodySent?.(chunk);
  }

  onRequestSent(): void {
    if (this.#state === S_WAITING) this.#handler.onRequestSent?.();
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    statusMessage?: string,
  ): void {
    if (this.#state !== S_WAITING) {
      this.#discard(controller, DISCARDED);
      return;
    }
    this.#try = controller;
    this.#controller.target = controller;
    if (statusCode < 200) {
      // Interim responses (103 Early Hints) are the caller's; they promise nothing.
      this.#callHandler(0, statusCode, headers, statusMessage);
      return;
    }
    const balancer = this.#balancer;
    const retryAfterMs = retryAfterOf(balancer, statusCode, headers);
    if (balancer.policy.retriesStatus(statusCode, this)) {
      const next = this.#nextLease();
      if (next !== undefined) {
        const error = statusError(statusCode, this.#attempts);
        // Discarded unread: the connection goes with it.
        this.#discard(controller, DISCARDED);
        this.#retry(next, error, retryAfterMs);
        return;
      }
    }
    this.#state = S_STREAMING;
    // Latency is time to headers, as the proxy's: a long download says nothing about how
    // fast the endpoint answers.
    this.#latencyMs = this.#lease!.elapsedMs();
    this.#status = statusCode;
    this.#retryAfterMs = retryAfterMs;
    this.#callHandler(0, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.#state === S_STREAMING) this.#callHandler(1, 0, undefined, undefined, chunk);
  }

  onResponseEnd(_controller: Controller, trailers: Headers): void {
    if (this.#state !== S_STREAMING) return;
    this.#end();
    this.#release(
      responseOutcome(this.#status, this.#attempts, this.#latencyMs, this.#retryAfterMs),
    );
    try {
      this.#handler.onResponseEnd?.(this.#controller, trailers);
    } catch (error) {
      // As undici does with a handler that throws at the end.
      this.#handler.onResponseError?.(this.#controller, error as Error);
    }
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    if (this.#discarding) return;
    const state = this.#state;
    if (state === S_DONE || state === S_START || state === S_BUFFERING) return;
    if (this.#controller.aborted || this.#callerThrew) {
      this.#finish(NOT_THEIRS, error);
      return;
    }
    if (state === S_STREAMING) {
      // Mid-body: the caller has the response, so its body fails with undici's error.
      this.#finish({ ok: false, error, latencyMs: this.#latencyMs }, error);
      return;
    }
    const kind = classifyError(error);
    const body = this.#body;
    const bodyUnread = body instanceof StreamedBody ? !body.started : !this.#sent;
    if (this.#balancer.policy.retriesError(kind, this.#sent, bodyUnread, this)) {
      const next = this.#nextLease();
      if (next !== undefined) {
        this.#retry(next, error, 0);
        return;
      }
    }
    const code = (error as { code?: unknown }).code;
    if (kind === 'other' && typeof code === 'string' && CALLER_CODES.has(code)) {
      this.#finish(NOT_THEIRS, error);
      return;
    }
    this.#finish({ ok: false, error }, upstreamError(kind, error, this.#attempts));
  }

  /** @internal The caller aborted through its controller. */
  callerAbort(reason: Error | undefined): void {
    const error = reason ?? new errors.RequestAbortedError();
    const state = this.#state;
    if (state === S_DONE) return;
    const current = this.#try;
    if (current !== null && (state === S_WAITING || state === S_STREAMING)) {
      // On the wire: aborting it reports back through onResponseError (synchronously).
      current.abort(error);
      if (this.#state !== S_DONE) this.#finish(NOT_THEIRS, error);
      return;
    }
    // Not on the wire yet (reading the body, connecting, between tries): end now; a try
    // still connecting is aborted when it starts.
    this.#finish(NOT_THEIRS, error);
  }

  /** Calls the caller's onResponseStart (`what` 0) or onResponseData (1), noting a throw. */
  #callHandler(
    what: 0 | 1,
    statusCode: number,
    headers: Headers | undefined,
    statusMessage: string | undefined,
    chunk?: Buffer,
  ): void {
    try {
      if (what === 0) {
        this.#handler.onResponseStart?.(this.#controller, statusCode, headers!, statusMessage);
      } else this.#handler.onResponseData?.(this.#controller, chunk!);
    } catch (error) {
      // undici aborts the try with this error; it is the caller's, not the endpoint's.
      this.#callerThrew = true;
      throw error;
    }
  }

  /** The lease for the next try, or undefined when the request may not be retried now. */
  #nextLease(): Lease | undefined {
    const balancer = this.#balancer;
    // Closing: requests in flight finish, but start no new try.
    if (balancer.closed) return undefined;
    const tried = (this.#tried ??= new Set());
    return nextLease(balancer, this.#key, this.#attempts, this.#lease!, tried);
  }

  #retry(next: Lease, error: unknown, retryAfterMs: number): void {
    this.#lease!.release(retriedOutcome(error, retryAfterMs));
    this.#lease = next;
    this.#try = null;
    this.#controller.target = null;
    this.#state = S_START;
    // Off undici's stack: the failed try's connection is still unwinding.
    process.nextTick(retryTick, this);
  }

  /** Aborts a try whose outcome no longer matters, ignoring the error it reports. */
  #discard(controller: Controller, reason: Error): void {
    this.#discarding = true;
    try {
      controller.abort(reason);
    } finally {
      this.#discarding = false;
    }
  }

  /** Ends the request: the lease released with `outcome`, the caller told `error`. */
  #finish(outcome: ReleaseOutcome, error: unknown): void {
    if (this.#state === S_DONE) return;
    this.#end();
    this.#lease?.release(outcome);
    if (this.#source !== undefined) this.#dropSource();
    this.#handler.onResponseError?.(this.#controller, error as Error);
  }

  /** Ends the request for a reason that is not an endpoint's (no lease, or not its fault). */
  #fail(error: unknown): void {
    this.#finish(NOT_THEIRS, error);
  }

  /**
   * Lets go of a stream body this exchange read from and will not send: a stream is
   * destroyed (as undici destroys the bodies it fails to send), an iterator returned.
   */
  #dropSource(): void {
    const source = this.#source as { destroy?: unknown } | undefined;
    const iterator = this.#iterator;
    this.#source = this.#iterator = undefined;
    if (typeof source?.destroy === 'function') {
      (source as { destroy(): void }).destroy();
    } else if (iterator !== undefined) {
      void Promise.resolve()
        .then(() => iterator.return?.())
        .catch(noop);
    }
  }

  #end(): void {
    this.#state = S_DONE;
    this.#balancer.end();
  }

  #release(outcome: ReleaseOutcome): void {
    this.#lease?.release(outcome);
  }
}

function retryTick(exchange: BalancedExchange): void {
  exchange.retryNow();
}

function noop(): void {}
