/**
 * One proxied request: the state machine from the client request to the forwarded
 * response, with failover between tries. The object is also the undici dispatch handler of
 * every try, and Node's event listeners are shared functions that find it through a symbol
 * on `req`/`res`: a request costs this object, its dispatch options and its header array,
 * no closures.
 * @internal
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import {
  BadRequestError,
  BodyConsumedError,
  PoolClosedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../../errors.js';
import type { PoolEndpoint } from '../../pool/types.js';
import { attemptsText } from '../shared/attempt-outcome.js';
import { normalizePath, targetPath } from '../shared/request-target.js';
import { isIdempotentMethod, type RetryFacts } from '../shared/retry-policy.js';
import {
  CALLER_FAULT,
  CLIENT_GONE,
  DISCARDED,
  RETRYING,
  TryLoop,
  type TryOwner,
} from '../shared/try-loop.js';
import { answerError, sendAnswer } from './answers.js';
import { proxyChannels } from './diagnostics.js';
import { buildResponseHeaders } from './headers.js';
import { replaceBody } from './parsed-body.js';
import type { ProxyEngine } from './proxy-engine.js';
import { RequestBodyStream } from './request-body.js';
import {
  affinityCookie,
  preferredEndpoint,
  type RequestHead,
  readRequestHead,
} from './request-head.js';

type Controller = Dispatcher.DispatchController;

const S_START = 0;
const S_BUFFERING = 1;
const S_WAITING = 2;
const S_STREAMING = 3;
const S_DONE = 4;

const kExchange = Symbol('switchyard.exchange');
type Tagged = { [kExchange]?: ProxyExchange | undefined };

/** Response bytes held for a slow client before undici is paused. */
const RESPONSE_BUFFER_BYTES = 128 * 1024;

/** @internal */
export class ProxyExchange
  implements Dispatcher.DispatchHandler, RequestHead, RetryFacts, TryOwner
{
  // RequestHead: filled in by readRequestHead.
  contentLength = -1;
  chunked = false;
  idempotencyKey = false;
  host: string | undefined = undefined;
  upgrade: string | undefined = undefined;
  cookie: string | undefined = undefined;
  originalClient: string | undefined = undefined;
  forwardedFor: string | undefined = undefined;
  forwardedProto: string | undefined = undefined;
  ip: string | undefined = undefined;
  proto = 'http';
  trusted = false;
  affinityKey: string | undefined = undefined;
  cookieToken: string | undefined = undefined;
  tls = false;

  // RetryFacts.
  safeToRepeat = false;
  replayable = true;

  readonly #engine: ProxyEngine;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  #state = S_START;
  #opts: Dispatcher.DispatchOptions | undefined;
  #path = '';
  #body: Buffer | RequestBodyStream | null = null;
  #chunks: Buffer[] | undefined;
  #bytes = 0;
  /** The tries: leases, attempts, retries. */
  readonly #tries: TryLoop;
  #drainHooked = false;
  #timer: NodeJS.Timeout | undefined;
  /** Response body bytes still due per the upstream's `Content-Length`, or -1 when unknown. */
  #due = -1;
  /** The response's last chunk, held so it goes out with `end()` in the same write. */
  #last: Buffer | undefined;

  constructor(engine: ProxyEngine, req: IncomingMessage, res: ServerResponse) {
    this.#engine = engine;
    this.#req = req;
    this.#res = res;
    this.#tries = new TryLoop(engine, this);
  }

  /** Starts handling. Never throws: every failure becomes an answer or a reset. */
  start(): void {
    const req = this.#req;
    const res = this.#res;
    const engine = this.#engine;
    (res as Tagged)[kExchange] = this;
    res.on('close', onResClose);
    if (proxyChannels.request.hasSubscribers) {
      proxyChannels.request.publish({ request: req, response: res });
    }
    if (engine.closed) {
      this.#fail(new PoolClosedError('the proxy is closed'));
      return;
    }
    const method = req.method ?? 'GET';
    if (method === 'CONNECT') {
      // Not an open proxy: no tunnels.
      this.#state = S_DONE;
      sendAnswer(req, res, 501, 'CONNECT is not supported');
      return;
    }
    const target = targetPath(req.url);
    if (target === undefined) {
      this.#fail(new BadRequestError('unsupported request target'));
      return;
    }
    const path = normalizePath(target);
    if (path === undefined) {
      // A path that climbs above the root would climb out of an endpoint's path prefix.
      this.#fail(new BadRequestError('the path climbs above the root'));
      return;
    }
    this.#path = path;
    let headers: string[];
    try {
      headers = readRequestHead(this, engine, req);
    } catch (error) {
      // The application's affinity key function threw.
      this.#fail(error);
      return;
    }
    this.#tries.key = this.affinityKey;
    this.safeToRepeat =
      isIdempotentMethod(method) || this.idempotencyKey || engine.policy.nonIdempotent;
    engine.policy.budget?.recordRequest();
    this.#opts = { method, path, headers, body: null };
    if (engine.requestMs > 0) {
      this.#timer = setTimeout(onDeadline, engine.requestMs, this);
      this.#timer.unref();
    }
    if (this.contentLength <= 0 && !this.chunked) {
      this.attempt();
      return;
    }
    if (req.readableEnded) {
      // A body parser read the stream: forward what it left in req.body, or refuse.
      const body = replaceBody(req, headers);
      if (body === undefined) {
        this.#fail(new BodyConsumedError());
        return;
      }
      this.#body = this.#opts.body = body;
      this.attempt();
      return;
    }
    const limit = engine.policy.bodyBufferBytes;
    if (limit > 0 && (this.chunked || this.contentLength <= limit)) {
      this.#state = S_BUFFERING;
      this.#chunks = [];
      (req as Tagged)[kExchange] = this;
      req.on('data', onReqData);
      req.on('end', onReqEnd);
      return;
    }
    this.#stream(undefined);
  }

  /** @internal A chunk of the body being buffered. */
  bodyChunk(chunk: Buffer): void {
    if (this.#state !== S_BUFFERING) return;
    this.#chunks!.push(chunk);
    this.#bytes += chunk.length;
    if (this.#bytes > this.#engine.policy.bodyBufferBytes) {
      // Too large to replay: stream it, buffered part first.
      const prefix = this.#chunks;
      this.#stopBuffering();
      this.#stream(prefix);
    }
  }

  /** @internal The buffered body is complete. */
  bodyEnd(): void {
    if (this.#state !== S_BUFFERING) return;
    const chunks = this.#chunks!;
    this.#stopBuffering();
    this.#body = this.#opts!.body =
      chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#bytes);
    this.attempt();
  }

  #stopBuffering(): void {
    const req = this.#req;
    req.off('data', onReqData);
    req.off('end', onReqEnd);
    this.#chunks = undefined;
  }

  #stream(prefix: Buffer[] | undefined): void {
    this.replayable = false;
    this.#body = this.#opts!.body = new RequestBodyStream(this.#req, prefix);
    this.attempt();
  }

  /** @internal Runs one try on the current lease (acquiring the first one). */
  attempt(): void {
    if (this.#state === S_DONE) return;
    const tries = this.#tries;
    if (tries.lease === undefined) {
      const error = tries.first(preferredEndpoint(this, this.#engine));
      if (error !== undefined) {
        this.#fail(error);
        return;
      }
    }
    this.#state = S_WAITING;
    tries.send(this.#opts!, this.#path, this);
  }

  /** @internal TryOwner: the next try, off undici's stack. */
  retryNow(): void {
    if (this.#state === S_START) this.attempt();
  }

  /** @internal TryOwner: a try failed and another endpoint gets the request. */
  retrying(failed: PoolEndpoint, attempt: number, reason: string, error: unknown): void {
    this.#state = S_START;
    if (proxyChannels.retry.hasSubscribers) {
      proxyChannels.retry.publish({ request: this.#req, endpoint: failed, attempt, reason, error });
    }
  }

  onRequestStart(controller: Controller): void {
    if (this.#state !== S_WAITING) {
      controller.abort(CLIENT_GONE);
      return;
    }
    this.#tries.started(controller);
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (this.#state !== S_WAITING) {
      controller.abort(CLIENT_GONE);
      return;
    }
    // 1xx interim responses are not forwarded (Node answers 100-continue itself).
    if (statusCode < 200) return;
    const tries = this.#tries;
    if (tries.retriesResponse(controller, statusCode, headers)) return;
    const res = this.#res;
    const lease = tries.lease!;
    const engine = this.#engine;
    this.#clearTimer();
    if (res.headersSent) {
      // Someone else answered meanwhile: not the endpoint's fault, nothing to forward to.
      this.#fail(new UpstreamUnavailableError('the response was already started elsewhere'));
      return;
    }
    try {
      const out = buildResponseHeaders(headers, affinityCookie(this, engine, lease.endpoint.id));
      // The reason phrase is HTTP/1 only.
      if (statusMessage && this.#req.httpVersionMajor === 1) {
        res.writeHead(statusCode, statusMessage, out);
      } else res.writeHead(statusCode, out);
    } catch (cause) {
      // An upstream header Node refuses: not forwardable.
      const error = new UpstreamUnavailableError('upstream sent an invalid response', { cause });
      tries.discard(controller, DISCARDED);
      tries.broke(error);
      this.#fail(error);
      return;
    }
    this.#state = S_STREAMING;
    this.#due = contentLengthOf(headers['content-length']);
    if (proxyChannels.response.hasSubscribers) {
      proxyChannels.response.publish({
        request: this.#req,
        response: res,
        endpoint: lease.endpoint,
        statusCode,
        attempts: tries.attempts,
      });
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#state !== S_STREAMING) return;
    const due = this.#due;
    if (due === chunk.length) {
      // The chunk that completes a `Content-Length` body: undici reports the end in the same
      // call (the parser completes the message on its last byte), so holding it delays
      // nothing, and `end(chunk)` writes it with the head and the finish in one go, where
      // `write()` then `end()` costs a second write and a tick to uncork. A body of unknown
      // length (an event stream, chunked) is never held.
      this.#due = 0;
      this.#last = chunk;
      return;
    }
    if (due > 0) this.#due = due - chunk.length;
    const res = this.#res;
    // Pause undici only past a small buffer, not at each `false`: a 64 KiB chunk alone
    // fills the socket's high-water mark, and pausing and resuming the parser for every
    // chunk costs more than holding one more chunk per client.
    if (!res.write(chunk) && res.writableLength >= RESPONSE_BUFFER_BYTES) {
      controller.pause();
      if (!this.#drainHooked) {
        this.#drainHooked = true;
        res.on('drain', onResDrain);
      }
    }
  }

  /** @internal The client can take more: let undici read on. */
  drained(): void {
    if (this.#state === S_STREAMING) this.#tries.controller?.resume();
  }

  onResponseEnd(): void {
    if (this.#state !== S_STREAMING) return;
    this.#state = S_DONE;
    const last = this.#last;
    if (last !== undefined) {
      this.#last = undefined;
      this.#res.end(last);
    } else this.#res.end();
    const body = this.#body;
    if (body instanceof RequestBodyStream && !this.#req.complete) {
      // The endpoint answered without reading the whole upload: drain the rest so the
      // client connection stays usable.
      body.destroy();
      this.#req.resume();
    }
    this.#tries.delivered();
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    const tries = this.#tries;
    if (tries.discarding) return;
    const state = this.#state;
    if (state !== S_WAITING && state !== S_STREAMING) return;
    if (state === S_STREAMING) {
      // Mid-body: the client must see a broken response, never a clean short one.
      this.#state = S_DONE;
      tries.broke(error);
      this.#publishError(error);
      resetClient(this.#res);
      return;
    }
    const body = this.#body;
    const bodyUnread = !(body instanceof RequestBodyStream) || !body.started;
    const verdict = tries.failed(error, bodyUnread);
    if (verdict === RETRYING) return;
    // A request the upstream client refuses is the client's fault: 400, no endpoint blamed.
    this.#fail(
      verdict === CALLER_FAULT
        ? new BadRequestError('the request cannot be forwarded as it stands', { cause: error })
        : tries.error,
    );
  }

  /** @internal The client went away (or the response closed before it finished). */
  clientClosed(): void {
    if (this.#state === S_DONE || this.#res.writableFinished) return;
    this.#end();
  }

  /** @internal The overall deadline passed before the response headers. */
  deadline(): void {
    this.#timer = undefined;
    const state = this.#state;
    if (state === S_DONE || state === S_STREAMING) return;
    const tries = this.#tries;
    const attempts = tries.attempts;
    const error = new UpstreamTimeoutError(
      `no response within ${this.#engine.requestMs} ms (${attemptsText(attempts)})`,
      { attempts },
    );
    const controller = tries.controller;
    if (controller !== null) tries.discard(controller, error);
    if (state === S_WAITING) tries.fail(error);
    this.#fail(error);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #publishError(error: unknown): void {
    if (proxyChannels.error.hasSubscribers) {
      proxyChannels.error.publish({
        request: this.#req,
        response: this.#res,
        error,
        endpoint: this.#tries.lease?.endpoint,
      });
    }
  }

  /**
   * Ends the exchange: no more body reading, no deadline, the try in progress aborted. A
   * lease still held is not the endpoint's fault (failures were released already): no
   * failure, no latency sample.
   */
  #end(): void {
    this.#state = S_DONE;
    if (this.#chunks !== undefined) this.#stopBuffering();
    this.#clearTimer();
    const body = this.#body;
    if (body instanceof RequestBodyStream) body.destroy();
    this.#tries.abandon(CLIENT_GONE);
  }

  /** Answers with an error of the proxy's own (or resets the client if too late). */
  #fail(error: unknown): void {
    this.#end();
    this.#publishError(error);
    answerError(this.#req, this.#res, error, this.#engine.onError);
  }
}

/** A response's `Content-Length` as a number of bytes, or -1 when absent or not one number. */
function contentLengthOf(value: string | string[] | undefined): number {
  if (typeof value !== 'string') return -1;
  const n = Number(value);
  return n >= 0 && Number.isSafeInteger(n) ? n : -1;
}

/** Ends the client connection with a reset, so no client mistakes it for a complete response. */
function resetClient(res: ServerResponse): void {
  const socket = res.socket;
  if (socket !== null && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else res.destroy();
}

function onDeadline(exchange: ProxyExchange): void {
  exchange.deadline();
}

function onResClose(this: ServerResponse & Tagged): void {
  this[kExchange]?.clientClosed();
}

function onResDrain(this: ServerResponse & Tagged): void {
  this[kExchange]?.drained();
}

function onReqData(this: IncomingMessage & Tagged, chunk: Buffer): void {
  this[kExchange]?.bodyChunk(chunk);
}

function onReqEnd(this: IncomingMessage & Tagged): void {
  this[kExchange]?.bodyEnd();
}
