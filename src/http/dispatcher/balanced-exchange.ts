/**
 * One request through the balanced dispatcher: picks an endpoint, sends a try, and on a
 * failure the retry rules allow, sends the next try to an endpoint not tried yet — until
 * the caller's handler has seen the response start, after which nothing is retried. The
 * object is the undici handler of every try; the caller's handler sees one request with
 * one controller.
 * @internal
 */

import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { AbortedError } from '../../errors.js';
import type { PoolEndpoint } from '../../pool/types.js';
import { normalizePath, targetPath } from '../shared/request-target.js';
import { isIdempotentMethod, type RetryFacts } from '../shared/retry-policy.js';
import { DISCARDED, RETRYING, TryLoop, type TryOwner } from '../shared/try-loop.js';
import { undici } from '../shared/undici.js';
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

/** @internal */
export class BalancedExchange implements Handler, RetryFacts, DispatchHeadFacts, TryOwner {
  idempotencyKey = false;
  contentLength = -1;
  safeToRepeat = false;
  replayable = true;

  readonly #balancer: Balancer;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #handler: Handler;
  readonly #controller: BalancedController;
  readonly #tries: TryLoop;
  #state = S_START;
  #path = '';
  #body: unknown = null;
  /** A stream body this exchange started reading, and its iterator: to let go of on failure. */
  #source: object | undefined;
  #iterator: ChunkIterator | undefined;
  #callerThrew = false;

  constructor(balancer: Balancer, opts: Dispatcher.DispatchOptions, handler: Handler) {
    this.#balancer = balancer;
    this.#opts = opts;
    this.#handler = handler;
    this.#controller = new BalancedController(this);
    this.#tries = new TryLoop(balancer, this);
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
      this.#fail(
        new (undici().errors.NotSupportedError)(
          'CONNECT is not supported by a balanced dispatcher',
        ),
      );
      return;
    }
    const target = typeof opts.path === 'string' ? targetPath(opts.path) : undefined;
    if (target === undefined) {
      this.#fail(
        new (undici().errors.InvalidArgumentError)(
          'path must be an absolute URL or start with a slash',
        ),
      );
      return;
    }
    const path = normalizePath(target);
    if (path === undefined) {
      this.#fail(
        new (undici().errors.InvalidArgumentError)('path must not climb above the root with ..'),
      );
      return;
    }
    this.#path = path;
    const keyFn = balancer.key;
    if (keyFn !== undefined) {
      try {
        this.#tries.key = keyFn(opts) ?? undefined;
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
    const tries = this.#tries;
    if (tries.lease === undefined) {
      // NoEndpointError or PoolClosedError, coded: the caller's to match on.
      const error = tries.first();
      if (error !== undefined) {
        this.#fail(error);
        return;
      }
    }
    this.#state = S_WAITING;
    const opts = { ...this.#opts, body: this.#body } as Dispatcher.DispatchOptions;
    tries.send(opts, this.#path, this);
  }

  /** @internal TryOwner: the next try, off undici's stack. */
  retryNow(): void {
    if (this.#state === S_START) this.#attempt();
  }

  /** @internal TryOwner: a try failed and another endpoint gets the request. */
  retrying(_failed: PoolEndpoint, _attempt: number, _reason: string, _error: unknown): void {
    this.#controller.target = null;
    this.#state = S_START;
  }

  onRequestStart(controller: Controller): void {
    if (this.#state !== S_WAITING) {
      this.#tries.discard(controller, this.#controller.reason ?? DISCARDED);
      return;
    }
    this.#tries.started(controller);
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
    this.#tries.succeeded();
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
    const tries = this.#tries;
    if (this.#state !== S_WAITING) {
      tries.discard(controller, DISCARDED);
      return;
    }
    tries.controller = controller;
    this.#controller.target = controller;
    if (statusCode < 200) {
      // Interim responses (103 Early Hints) are the caller's; they promise nothing.
      this.#callHandler(0, statusCode, headers, statusMessage);
      return;
    }
    if (tries.retriesResponse(controller, statusCode, headers)) return;
    this.#state = S_STREAMING;
    this.#callHandler(0, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.#state === S_STREAMING) this.#callHandler(1, 0, undefined, undefined, chunk);
  }

  onResponseEnd(_controller: Controller, trailers: Headers): void {
    if (this.#state !== S_STREAMING) return;
    this.#end();
    this.#tries.delivered();
    try {
      this.#handler.onResponseEnd?.(this.#controller, trailers);
    } catch (error) {
      // As undici does with a handler that throws at the end.
      this.#handler.onResponseError?.(this.#controller, error as Error);
    }
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    const tries = this.#tries;
    if (tries.discarding) return;
    const state = this.#state;
    if (state === S_DONE || state === S_START || state === S_BUFFERING) return;
    if (this.#controller.aborted || this.#callerThrew) {
      this.#finish(error);
      return;
    }
    if (state === S_STREAMING) {
      // Mid-body: the caller has the response, so its body fails with undici's error.
      tries.broke(error);
      this.#finish(error);
      return;
    }
    const body = this.#body;
    const bodyUnread = body instanceof StreamedBody ? !body.started : !tries.sent;
    // A refusal of the request itself (CALLER_FAULT) reaches the caller as is.
    if (tries.failed(error, bodyUnread) !== RETRYING) this.#finish(tries.error);
  }

  /** @internal The caller aborted through its controller. */
  callerAbort(reason: Error | undefined): void {
    const error = reason ?? new AbortedError('the request was aborted');
    const state = this.#state;
    if (state === S_DONE) return;
    const current = this.#tries.controller;
    if (current !== null && (state === S_WAITING || state === S_STREAMING)) {
      // On the wire: aborting it reports back through onResponseError (synchronously).
      current.abort(error);
      if (this.#state !== S_DONE) this.#finish(error);
      return;
    }
    // Not on the wire yet (reading the body, connecting, between tries): end now; a try
    // still connecting is aborted when it starts.
    this.#finish(error);
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

  /**
   * Ends the request: a lease still held is released as not the endpoint's (failures were
   * released already), the caller told `error`.
   */
  #finish(error: unknown): void {
    if (this.#state === S_DONE) return;
    this.#end();
    this.#tries.abandon(undefined);
    if (this.#source !== undefined) this.#dropSource();
    this.#handler.onResponseError?.(this.#controller, error as Error);
  }

  /** Ends the request for a reason that is not an endpoint's (no lease, or not its fault). */
  #fail(error: unknown): void {
    this.#finish(error);
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
}

function noop(): void {}
