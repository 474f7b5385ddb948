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
  BodyConsumedError,
  isSwitchyardError,
  NoEndpointError,
  SwitchyardError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../../errors.js';
import type { Lease, ReleaseOutcome } from '../../pool/types.js';
import {
  attemptsText,
  CLIENT_GONE,
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
import { answerError, sendAnswer } from './answers.js';
import { proxyChannels } from './diagnostics.js';
import { buildResponseHeaders } from './headers.js';
import { replaceBody } from './parsed-body.js';
import type { ProxyEngine } from './proxy-engine.js';
import { RequestBodyStream } from './request-body.js';
import { affinityCookie, type RequestHead, readRequestHead } from './request-head.js';

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

const DISCARDED = new SwitchyardError('ERR_ABORTED', 'response discarded for a retry');

/** @internal */
export class ProxyExchange implements Dispatcher.DispatchHandler, RequestHead, RetryFacts {
  // RequestHead: filled in by readRequestHead.
  contentLength = -1;
  chunked = false;
  idempotencyKey = false;
  host: string | undefined = undefined;
  upgrade: string | undefined = undefined;
  cookie: string | undefined = undefined;
  originalClient: string | undefined = undefined;
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
  #lease: Lease | undefined;
  #tried: Set<string> | undefined;
  #attempts = 0;
  #controller: Controller | null = null;
  #sent = false;
  #discarding = false;
  #drainHooked = false;
  #timer: NodeJS.Timeout | undefined;
  #status = 0;
  #retryAfterMs = 0;
  /** Response body bytes still due per the upstream's `Content-Length`, or -1 when unknown. */
  #due = -1;
  /** The response's last chunk, held so it goes out with `end()` in the same write. */
  #last: Buffer | undefined;
  /** Time to response headers of the forwarded try: its latency sample for the pool. */
  #latencyMs = 0;

  constructor(engine: ProxyEngine, req: IncomingMessage, res: ServerResponse) {
    this.#engine = engine;
    this.#req = req;
    this.#res = res;
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
      this.#fail(new NoEndpointError('the proxy is closed'));
      return;
    }
    const method = req.method ?? 'GET';
    if (method === 'CONNECT') {
      // Not an open proxy: no tunnels.
      this.#state = S_DONE;
      sendAnswer(req, res, 501, 'CONNECT is not supported');
      return;
    }
    const path = targetPath(req.url);
    if (path === undefined) {
      this.#state = S_DONE;
      sendAnswer(req, res, 400, 'unsupported request target');
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
    let lease = this.#lease;
    if (lease === undefined) {
      try {
        lease = this.#engine.acquire(this.affinityKey, this.cookieToken);
      } catch (error) {
        this.#fail(
          isSwitchyardError(error) ? error : new NoEndpointError(String(error), { cause: error }),
        );
        return;
      }
      this.#lease = lease;
    }
    this.#attempts++;
    const upstream = this.#engine.upstreams.get(lease.endpoint);
    const opts = this.#opts!;
    opts.path = upstream.basePath === '' ? this.#path : upstream.basePath + this.#path;
    this.#sent = false;
    this.#controller = null;
    this.#state = S_WAITING;
    // Errors, even synchronous ones, come back through onResponseError.
    upstream.dispatcher.dispatch(opts, this);
  }

  onRequestStart(controller: Controller): void {
    if (this.#state === S_DONE) {
      controller.abort(CLIENT_GONE);
      return;
    }
    this.#controller = controller;
    this.#sent = true;
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
    this.#controller = controller;
    const engine = this.#engine;
    const retryAfterMs = retryAfterOf(engine, statusCode, headers);
    if (engine.policy.retriesStatus(statusCode, this)) {
      const next = this.#nextLease();
      if (next !== undefined) {
        const error = statusError(statusCode, this.#attempts);
        // Discarded, not forwarded: the connection goes with it (its body is unread).
        this.#discard(controller, DISCARDED);
        this.#retry(next, `status ${statusCode}`, error, retryAfterMs);
        return;
      }
    }
    const res = this.#res;
    const lease = this.#lease!;
    // Latency is time to headers, so a long download or an event stream does not make the
    // endpoint look slow. One clock read, the pool's, which started the lease.
    this.#latencyMs = lease.elapsedMs();
    this.#status = statusCode;
    this.#retryAfterMs = retryAfterMs;
    this.#clearTimer();
    if (res.headersSent) {
      // Someone else answered meanwhile: not the endpoint's fault, nothing to forward to.
      this.#discard(controller, CLIENT_GONE);
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
      this.#discard(controller, DISCARDED);
      this.#release({ ok: false, error, latencyMs: this.#latencyMs });
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
        attempts: this.#attempts,
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
    if (this.#state === S_STREAMING) this.#controller?.resume();
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
    this.#release(
      responseOutcome(this.#status, this.#attempts, this.#latencyMs, this.#retryAfterMs),
    );
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    if (this.#discarding) return;
    const state = this.#state;
    if (state === S_DONE) return;
    if (state === S_STREAMING) {
      // Mid-body: the client must see a broken response, never a clean short one.
      this.#state = S_DONE;
      this.#release({ ok: false, error, latencyMs: this.#latencyMs });
      this.#publishError(error);
      resetClient(this.#res);
      return;
    }
    const kind = classifyError(error);
    const body = this.#body;
    const bodyUnread = !(body instanceof RequestBodyStream) || !body.started;
    if (this.#engine.policy.retriesError(kind, this.#sent, bodyUnread, this)) {
      const next = this.#nextLease();
      if (next !== undefined) {
        this.#retry(next, kind, error, 0);
        return;
      }
    }
    this.#release({ ok: false, error });
    this.#fail(upstreamError(kind, error, this.#attempts));
  }

  /** The lease for the next try, or undefined when the request may not be retried now. */
  #nextLease(): Lease | undefined {
    const tried = (this.#tried ??= new Set());
    return nextLease(this.#engine, this.affinityKey, this.#attempts, this.#lease!, tried);
  }

  #retry(next: Lease, reason: string, error: unknown, retryAfterMs: number): void {
    const failed = this.#lease!;
    failed.release(retriedOutcome(error, retryAfterMs));
    this.#lease = next;
    this.#state = S_START;
    if (proxyChannels.retry.hasSubscribers) {
      proxyChannels.retry.publish({
        request: this.#req,
        endpoint: failed.endpoint,
        attempt: this.#attempts,
        reason,
        error,
      });
    }
    // Off undici's stack: the failed try's connection is still unwinding.
    process.nextTick(retryTick, this);
  }

  /** @internal The client went away (or the response closed before it finished). */
  clientClosed(): void {
    if (this.#state === S_DONE || this.#res.writableFinished) return;
    this.#state = S_DONE;
    if (this.#chunks !== undefined) this.#stopBuffering();
    this.#clearTimer();
    this.#controller?.abort(CLIENT_GONE);
    const body = this.#body;
    if (body instanceof RequestBodyStream) body.destroy();
    // Not the endpoint's fault: no failure, no latency sample.
    this.#release(NOT_THEIRS);
  }

  /** @internal The overall deadline passed before the response headers. */
  deadline(): void {
    this.#timer = undefined;
    const state = this.#state;
    if (state === S_DONE || state === S_STREAMING) return;
    const attempts = this.#attempts;
    const error = new UpstreamTimeoutError(
      `no response within ${this.#engine.requestMs} ms (${attemptsText(attempts)})`,
      { attempts },
    );
    const controller = this.#controller;
    if (controller !== null) this.#discard(controller, error);
    if (state === S_WAITING) this.#release({ ok: false, error });
    this.#fail(error);
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

  #release(outcome: ReleaseOutcome): void {
    this.#lease?.release(outcome);
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
        endpoint: this.#lease?.endpoint,
      });
    }
  }

  /** Answers with an error of the proxy's own (or resets the client if too late). */
  #fail(error: unknown): void {
    this.#state = S_DONE;
    if (this.#chunks !== undefined) this.#stopBuffering();
    this.#clearTimer();
    const body = this.#body;
    if (body instanceof RequestBodyStream) body.destroy();
    // A lease still held here was not the endpoint's fault (callers release failures).
    this.#release(NOT_THEIRS);
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

function retryTick(exchange: ProxyExchange): void {
  exchange.attempt();
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
