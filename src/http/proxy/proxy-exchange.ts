/**
 * One proxied request: the state machine from the client request to the forwarded
 * response, with failover between tries. The object is also the undici dispatch handler of
 * every try, and Node's event listeners are shared functions that find it through a symbol
 * on `req`/`res`: a request costs this object, its dispatch options and its header array,
 * no closures.
 * @internal
 */

import { type IncomingMessage, type OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import {
  BadRequestError,
  BodyConsumedError,
  PoolClosedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../../errors.js';
import type { PoolEndpoint } from '../../pool/types.js';
import { resetSocket } from '../../socket-reset.js';
import { attemptsText } from '../shared/attempt-outcome.js';
import { ReleasingWriter, releaseChunk, worthReleasing } from '../shared/release-chunk.js';
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
import { answerError, logAnswer, sendAnswer } from './answers.js';
import { proxyChannels } from './diagnostics.js';
import { buildResponseHeaders, isHopByHop, responseHeadersObject } from './headers.js';
import { type ProxyResponseHead, rewriteTry } from './hooks.js';
import { replaceBody } from './parsed-body.js';
import type { ProxyEngine } from './proxy-engine.js';
import { RequestBody } from './request-body.js';
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
/** Response hooks: the delivered response's body is being buffered for `responseBody`. */
const S_COLLECTING = 5;
/** Response hooks: `responseBody.transform` is running. */
const S_TRANSFORMING = 6;

const kExchange = Symbol('switchyard.exchange');
type Tagged = { [kExchange]?: ProxyExchange | undefined };

/** Response bytes held for a slow client before undici is paused. */
const RESPONSE_BUFFER_BYTES = 128 * 1024;

/**
 * A whole body up to this size goes out as text joined to the head: Node's HTTP response
 * then writes one string, which its socket tries to send at once from a 16 KiB stack
 * buffer, where a head and a `Buffer` body take a `writev` with a write request and its
 * completion callback. Measured on 78-byte responses: some 3 % less CPU per request. Text
 * in `latin1` is byte for byte the buffer, whatever its bytes are.
 */
const JOINED_BODY_BYTES = 8 * 1024;

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
  #body: Buffer | RequestBody | null = null;
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
  /** `#last` is the exchange's to free (see `onResponseData`). */
  #lastOwned = false;
  /** The owned last chunk `end()` wrote: freed when the response closes. */
  #ended: Buffer | undefined;
  /** Writes the owned chunks, each freed once written; made for the first. */
  #releasing: ReleasingWriter | undefined;
  /** With `rewriteRequest`: the headers as the header pass built them, copied for each try. */
  #baseHeaders: string[] | undefined;
  /** With `responseBody`: the head of the response being buffered, and its chunks. */
  #head: ProxyResponseHead | undefined;
  #bodyChunks: Buffer[] | undefined;

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
    const body = new RequestBody(this.#req, prefix);
    // undici reads async iterables as bodies; its DispatchOptions type does not list them.
    this.#opts!.body = body as unknown as NonNullable<Dispatcher.DispatchOptions['body']>;
    this.#body = body;
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
    const rewrite = this.#engine.rewriteRequest;
    if (rewrite === undefined) {
      this.#state = S_WAITING;
      tries.send(this.#opts!, this.#path, this);
      return;
    }
    // Each try rewrites a fresh copy of the request's head, with its own endpoint.
    const opts = this.#opts!;
    const base = (this.#baseHeaders ??= opts.headers as string[]);
    let path: string;
    try {
      path = rewriteTry(rewrite, this.#req, opts, base, this.#path, tries);
    } catch (error) {
      // The application's hook threw: 500, and the endpoint is not blamed.
      this.#fail(error);
      return;
    }
    this.#state = S_WAITING;
    tries.send(opts, path, this);
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
    if (statusCode < 200) {
      // `103 Early Hints` is forwarded; other 1xx are not (Node answered the client's
      // `Expect: 100-continue` itself, and the expectation is not forwarded).
      if (statusCode === 103) this.#earlyHints(headers);
      return;
    }
    const tries = this.#tries;
    if (tries.retriesResponse(controller, statusCode, headers)) return;
    const res = this.#res;
    const engine = this.#engine;
    this.#clearTimer();
    if (res.headersSent) {
      // Someone else answered meanwhile: not the endpoint's fault, nothing to forward to.
      this.#fail(new UpstreamUnavailableError('the response was already started elsewhere'));
      return;
    }
    const endpoint = tries.lease!.endpoint;
    if (engine.responseHooks) {
      this.#hookedResponse(controller, statusCode, headers);
      return;
    }
    const out = buildResponseHeaders(headers, affinityCookie(this, engine, endpoint.id));
    this.#writeHead(controller, statusCode, out, statusMessage, headers['content-length']);
  }

  /**
   * Writes the response head to the client, starts streaming the body (`contentLength`
   * being the upstream's) and announces the response; when Node refuses the head, the try
   * ends and the client gets an answer instead.
   */
  #writeHead(
    controller: Controller,
    statusCode: number,
    out: (string | string[])[] | OutgoingHttpHeaders,
    statusMessage: string | undefined,
    contentLength: string | string[] | undefined,
  ): void {
    const res = this.#res;
    const tries = this.#tries;
    try {
      // The reason phrase is HTTP/1 only.
      if (statusMessage && this.#req.httpVersionMajor === 1) {
        res.writeHead(statusCode, statusMessage, out);
      } else res.writeHead(statusCode, out);
    } catch (cause) {
      tries.discard(controller, DISCARDED);
      if (this.#engine.responseHooks) {
        // The hooks wrote the head: the application's fault, not the endpoint's.
        this.#fail(cause);
        return;
      }
      // An upstream header Node refuses: not forwardable.
      const error = new UpstreamUnavailableError('upstream sent an invalid response', { cause });
      tries.broke(error);
      this.#fail(error);
      return;
    }
    this.#state = S_STREAMING;
    this.#due = contentLengthOf(contentLength);
    if (proxyChannels.response.hasSubscribers) {
      proxyChannels.response.publish({
        request: this.#req,
        response: res,
        endpoint: tries.lease!.endpoint,
        statusCode,
        attempts: tries.attempts,
      });
    }
  }

  /** Forwards a `103 Early Hints` (never to an HTTP/1.0 client, which knows no 1xx). */
  #earlyHints(headers: Record<string, string | string[] | undefined>): void {
    const res = this.#res;
    const req = this.#req;
    if (res.headersSent || (req.httpVersionMajor === 1 && req.httpVersionMinor === 0)) return;
    try {
      // Node sends them only with a `Link` header, as RFC 8297 means them.
      res.writeEarlyHints(responseHeadersObject(headers, undefined) as Record<string, string>);
    } catch {
      // A hint Node refuses is dropped: hints are advisory.
    }
  }

  /** The response head with `rewriteResponse` and `responseBody` in play. */
  #hookedResponse(
    controller: Controller,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    const engine = this.#engine;
    const req = this.#req;
    const tries = this.#tries;
    const endpoint = tries.lease!.endpoint;
    const head: ProxyResponseHead = {
      status: statusCode,
      headers: responseHeadersObject(headers, affinityCookie(this, engine, endpoint.id)),
      endpoint,
    };
    const body = engine.responseBody;
    let collect = false;
    try {
      engine.rewriteResponse?.(head, req);
      const status = head.status;
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError(
          `rewriteResponse must leave head.status within 200-599, got ${status}`,
        );
      }
      collect =
        body !== undefined &&
        hasBody(req.method, head.status) &&
        (body.when === undefined || body.when(head, req) === true);
    } catch (error) {
      // The application's hook threw: 500, and the endpoint is not blamed.
      tries.discard(controller, DISCARDED);
      this.#fail(error);
      return;
    }
    if (!collect) {
      // A status changed by the hook has no reason phrase of the upstream's.
      this.#writeHead(controller, head.status, head.headers, undefined, headers['content-length']);
      return;
    }
    if (contentLengthOf(headers['content-length']) > body!.maxBytes) {
      this.#tooLarge(controller);
      return;
    }
    this.#state = S_COLLECTING;
    this.#head = head;
    this.#bodyChunks = [];
    this.#bytes = 0;
  }

  /** A body for `responseBody` is over its `maxBytes`: 502, never passed on untransformed. */
  #tooLarge(controller: Controller): void {
    this.#tries.discard(controller, DISCARDED);
    this.#fail(
      new UpstreamUnavailableError(
        `the response body is over responseBody.maxBytes (${this.#engine.responseBody!.maxBytes})`,
      ),
    );
  }

  /**
   * `owned` (the proxy's own client only): nothing else holds `chunk`'s `ArrayBuffer`, so
   * once the client socket has written it, it is freed rather than left to the collector —
   * unless `write` or `end` of the response were replaced (by a middleware that may keep
   * the chunks, to log or compress them).
   */
  onResponseData(controller: Controller, chunk: Buffer, owned?: boolean): void {
    if (this.#state !== S_STREAMING) {
      if (this.#state === S_COLLECTING) this.#collect(controller, chunk);
      return;
    }
    const due = this.#due;
    if (due === chunk.length) {
      // The chunk that completes a `Content-Length` body: undici reports the end in the same
      // call (the parser completes the message on its last byte), so holding it delays
      // nothing, and `end(chunk)` writes it with the head and the finish in one go, where
      // `write()` then `end()` costs a second write and a tick to uncork. A body of unknown
      // length (an event stream, chunked) is never held.
      this.#due = 0;
      this.#last = chunk;
      this.#lastOwned = owned === true && worthReleasing(chunk);
      return;
    }
    if (due > 0) this.#due = due - chunk.length;
    const res = this.#res;
    // Pause undici only past a small buffer, not at each `false`: a 64 KiB chunk alone
    // fills the socket's high-water mark, and pausing and resuming the parser for every
    // chunk costs more than holding one more chunk per client.
    const more =
      owned === true && worthReleasing(chunk) && isNodeResponse(res)
        ? (this.#releasing ??= new ReleasingWriter()).write(res, chunk)
        : res.write(chunk);
    if (!more && res.writableLength >= RESPONSE_BUFFER_BYTES) {
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

  onResponseEnd(
    _controller: Controller,
    trailers?: Record<string, string | string[] | undefined> | null,
  ): void {
    if (this.#state !== S_STREAMING) {
      if (this.#state === S_COLLECTING) this.#collected();
      return;
    }
    this.#state = S_DONE;
    const res = this.#res;
    if (trailers != null) forwardTrailers(res, trailers);
    const last = this.#last;
    if (last !== undefined) {
      this.#last = undefined;
      if (last.length <= JOINED_BODY_BYTES && isNodeResponse(res)) {
        // Nothing holds `last` after this: the collector frees it.
        res.end(last.toString('latin1'), 'latin1');
      } else {
        // Its write is over once the response closes ('finish' comes after the last write
        // completed; a socket closes after its pending writes were cancelled).
        if (this.#lastOwned && isNodeResponse(res)) this.#ended = last;
        res.end(last);
      }
    } else res.end();
    this.#uploadDone();
    this.#tries.delivered();
  }

  /** The endpoint answered: an upload it did not read whole is drained, so the connection stays usable. */
  #uploadDone(): void {
    const body = this.#body;
    if (body instanceof RequestBody && !this.#req.complete) {
      body.destroy();
      this.#req.resume();
    }
  }

  /** A chunk of a body buffered for `responseBody`. */
  #collect(controller: Controller, chunk: Buffer): void {
    this.#bodyChunks!.push(chunk);
    this.#bytes += chunk.length;
    if (this.#bytes > this.#engine.responseBody!.maxBytes) this.#tooLarge(controller);
  }

  /** The body buffered for `responseBody` is whole: the endpoint is done; transform it. */
  #collected(): void {
    this.#state = S_TRANSFORMING;
    this.#uploadDone();
    this.#tries.delivered();
    const chunks = this.#bodyChunks!;
    this.#bodyChunks = undefined;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#bytes);
    let result: Buffer | string | Promise<Buffer | string>;
    try {
      result = this.#engine.responseBody!.transform(body, this.#head!, this.#req);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (typeof (result as Promise<unknown>)?.then === 'function') {
      (result as Promise<Buffer | string>).then(
        (value) => this.#transformed(value),
        (error: unknown) => {
          if (this.#state === S_TRANSFORMING) this.#fail(error);
        },
      );
    } else this.#transformed(result as Buffer | string);
  }

  /** Sends the transformed body, with its own `Content-Length`. */
  #transformed(value: Buffer | string): void {
    if (this.#state !== S_TRANSFORMING) return;
    const res = this.#res;
    const head = this.#head!;
    let body: Buffer;
    try {
      if (typeof value === 'string') body = Buffer.from(value);
      else if (value instanceof Uint8Array)
        body = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      else throw new TypeError(`responseBody.transform must return a Buffer or a string`);
      const headers = head.headers;
      headers['content-length'] = body.length;
      res.writeHead(head.status, headers);
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#state = S_DONE;
    res.end(body);
    if (proxyChannels.response.hasSubscribers) {
      proxyChannels.response.publish({
        request: this.#req,
        response: res,
        endpoint: head.endpoint,
        statusCode: head.status,
        attempts: this.#tries.attempts,
      });
    }
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    const tries = this.#tries;
    if (tries.discarding) return;
    const state = this.#state;
    if (state === S_COLLECTING) {
      // Nothing reached the client yet: an answer of the proxy's own.
      tries.broke(error);
      this.#fail(new UpstreamUnavailableError('the upstream response broke off', { cause: error }));
      return;
    }
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
    const bodyUnread = !(body instanceof RequestBody) || !body.started;
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
    const ended = this.#ended;
    if (ended !== undefined) {
      this.#ended = undefined;
      releaseChunk(ended);
    }
    if (this.#state === S_DONE || this.#res.writableFinished) return;
    this.#end();
  }

  /** @internal The overall deadline passed before the response headers. */
  deadline(): void {
    this.#timer = undefined;
    const state = this.#state;
    if (state !== S_START && state !== S_BUFFERING && state !== S_WAITING) return;
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
    if (body instanceof RequestBody) body.destroy();
    this.#tries.abandon(CLIENT_GONE);
  }

  /** Answers with an error of the proxy's own (or resets the client if too late). */
  #fail(error: unknown): void {
    this.#end();
    this.#publishError(error);
    const logger = this.#engine.logger;
    if (logger !== undefined) logAnswer(logger, this.#req, error, this.#tries.attempts);
    answerError(this.#req, this.#res, error, this.#engine.onError);
  }
}

const NODE_WRITE = ServerResponse.prototype.write;
const NODE_END = ServerResponse.prototype.end;

/**
 * Whether the response writes with Node's own `write` and `end` (an Express or Fastify
 * response does): then a chunk it was given is held by nothing once written.
 */
function isNodeResponse(res: ServerResponse): boolean {
  return res.write === NODE_WRITE && res.end === NODE_END;
}

/** Whether a response to `method` with `status` has a body to transform. */
function hasBody(method: string | undefined, status: number): boolean {
  return method !== 'HEAD' && status !== 204 && status !== 304;
}

/**
 * Forwards the upstream's trailers (NGINX's `proxy_pass_trailers`). Node sends them only on
 * a chunked response (an HTTP/1.1 response without `Content-Length`) or over HTTP/2;
 * elsewhere they are dropped, as RFC 9110 §6.5 lets a recipient do.
 */
function forwardTrailers(
  res: ServerResponse,
  trailers: Record<string, string | string[] | undefined>,
): void {
  let out: Record<string, string | string[]> | undefined;
  for (const name in trailers) {
    const value = trailers[name];
    if (value === undefined || isHopByHop(name)) continue;
    out ??= {};
    out[name] = value;
  }
  if (out === undefined) return;
  try {
    res.addTrailers(out);
  } catch {
    // A trailer Node refuses is dropped: the body is complete without it.
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
  if (socket !== null && typeof socket.resetAndDestroy === 'function') resetSocket(socket);
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
