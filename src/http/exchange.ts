/**
 * One proxied request: the state machine from the client request to the forwarded
 * response, with failover between tries. The object is also the undici dispatch handler of
 * every try, and Node's event listeners are shared functions that find it through a symbol
 * on `req`/`res`: a request costs this object and its header array, no closures.
 * @internal
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import {
  BodyConsumedError,
  isSwitchyardError,
  NoEndpointError,
  SwitchyardError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../errors.js';
import type { Lease, ReleaseOutcome } from '../pool/types.js';
import { sendAnswer, sendErrorAnswer } from './answers.js';
import { proxyChannels } from './diagnostics.js';
import {
  buildRequestHeaders,
  buildResponseHeaders,
  type ClientInfo,
  type RequestHeadFacts,
} from './headers.js';
import { replaceBody } from './parsed-body.js';
import type { ProxyEngine } from './proxy-engine.js';
import { RequestBodyStream } from './request-body.js';
import { parseRetryAfter } from './retry-after.js';
import {
  classifyError,
  type FailureKind,
  isIdempotentMethod,
  isTimeoutKind,
  type RetryFacts,
} from './retry-policy.js';

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

const NOT_THEIRS: ReleaseOutcome = Object.freeze({ ok: true, skipLatency: true });
const CLIENT_GONE = new SwitchyardError('ERR_ABORTED', 'the client went away');
const DISCARDED = new SwitchyardError('ERR_ABORTED', 'response discarded for a retry');

/** The request path to forward: origin-form as is; absolute-form reduced to its path. */
export function targetPath(url: string | undefined): string | undefined {
  if (url === undefined || url.length === 0) return undefined;
  if (url.charCodeAt(0) === 47) return url;
  // Absolute-form (`GET http://elsewhere/x`): only the path and query are kept, the
  // destination is always the pool's choice.
  const scheme = url.indexOf('://');
  if (scheme === 4 || scheme === 5) {
    const name = url.slice(0, scheme).toLowerCase();
    if (name === 'http' || name === 'https') {
      const authorityEnd = url.slice(scheme + 3).search(/[/?]/);
      if (authorityEnd === -1) return '/';
      const rest = url.slice(scheme + 3 + authorityEnd);
      return rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
    }
  }
  return undefined;
}

/** @internal */
export class ProxyExchange
  implements Dispatcher.DispatchHandler, RequestHeadFacts, RetryFacts, ClientInfo
{
  contentLength = -1;
  chunked = false;
  idempotencyKey = false;
  host: string | undefined = undefined;
  upgrade: string | undefined = undefined;
  cookie: string | undefined = undefined;
  originalClient: string | undefined = undefined;
  forwardedProto: string | undefined = undefined;
  safeToRepeat = false;
  replayable = true;
  ip: string | undefined = undefined;
  proto = 'http';
  trusted = false;

  readonly #engine: ProxyEngine;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  #state = S_START;
  #opts: Dispatcher.DispatchOptions | undefined;
  #path = '';
  #body: Buffer | RequestBodyStream | null = null;
  #chunks: Buffer[] | undefined;
  #bytes = 0;
  #key: string | undefined;
  #cookieToken: string | undefined;
  #tls = false;
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
    const socket = req.socket as TLSSocket | undefined;
    const ip = socket?.remoteAddress;
    this.ip = ip;
    this.trusted = engine.trusts(ip);
    if (socket?.encrypted === true) this.proto = 'https';
    // The exchange is both the client description and the facts sink: no extra objects.
    const headers = buildRequestHeaders(req.rawHeaders, engine.rules, this, this);
    this.#tls = this.proto === 'https' || this.forwardedProto === 'https';
    const affinity = engine.affinity;
    if (affinity !== undefined) {
      if (affinity.mode === 'cookie') this.#cookieToken = affinity.readCookie(this.cookie);
      else if (affinity.mode === 'ip') this.#key = this.originalClient ?? ip;
      else {
        try {
          this.#key = affinity.keyFn!(req) ?? undefined;
        } catch (error) {
          this.#fail(error);
          return;
        }
      }
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
        lease = this.#engine.acquire(this.#key, this.#cookieToken);
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
    const policy = engine.policy;
    let retryAfterMs = 0;
    if (statusCode === 503 || statusCode === 429) {
      retryAfterMs =
        parseRetryAfter(headers['retry-after'], engine.now(), policy.maxRetryAfterMs) ?? 0;
    }
    if (policy.isRetryStatus(statusCode) && policy.retriesStatus(statusCode, this)) {
      const next = this.#nextLease();
      if (next !== undefined) {
        const error = new UpstreamUnavailableError(`upstream answered ${statusCode}`, {
          attempts: this.#attempts,
          upstreamStatus: statusCode,
        });
        // Discarded, not forwarded: the connection goes with it (its body is unread).
        this.#discarding = true;
        controller.abort(DISCARDED);
        this.#discarding = false;
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
    const affinity = engine.affinity;
    let setCookie: string | undefined;
    if (affinity !== undefined && affinity.mode === 'cookie') {
      const id = lease.endpoint.id;
      if (affinity.tokenFor(id) !== this.#cookieToken)
        setCookie = affinity.setCookieFor(id, this.#tls);
    }
    if (res.headersSent) {
      // Someone else answered meanwhile: not the endpoint's fault, nothing to forward to.
      this.#discarding = true;
      controller.abort(CLIENT_GONE);
      this.#discarding = false;
      this.#fail(new UpstreamUnavailableError('the response was already started elsewhere'));
      return;
    }
    try {
      const out = buildResponseHeaders(headers, setCookie);
      // The reason phrase is HTTP/1 only.
      if (statusMessage && this.#req.httpVersionMajor === 1) {
        res.writeHead(statusCode, statusMessage, out);
      } else res.writeHead(statusCode, out);
    } catch (cause) {
      // An upstream header Node refuses: not forwardable.
      const error = new UpstreamUnavailableError('upstream sent an invalid response', { cause });
      this.#discarding = true;
      controller.abort(DISCARDED);
      this.#discarding = false;
      this.#release({ ok: false, error, latencyMs: this.#latencyMs });
      this.#fail(error);
      return;
    }
    this.#state = S_STREAMING;
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
    this.#res.end();
    const body = this.#body;
    if (body instanceof RequestBodyStream && !this.#req.complete) {
      // The endpoint answered without reading the whole upload: drain the rest so the
      // client connection stays usable.
      body.destroy();
      this.#req.resume();
    }
    const status = this.#status;
    const latencyMs = this.#latencyMs;
    if (status >= 500) {
      this.#release({
        ok: false,
        error: new UpstreamUnavailableError(`upstream answered ${status}`, {
          attempts: this.#attempts,
          upstreamStatus: status,
        }),
        latencyMs,
        ...(this.#retryAfterMs > 0 ? { retryAfterMs: this.#retryAfterMs } : {}),
      });
    } else if (this.#retryAfterMs > 0) {
      this.#release({ ok: true, retryAfterMs: this.#retryAfterMs, latencyMs });
    } else {
      // The pool reads no clock for a success that carries its latency.
      this.#release({ ok: true, latencyMs });
    }
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
    const engine = this.#engine;
    const policy = engine.policy;
    if (this.#attempts >= policy.attempts) return undefined;
    const budget = policy.budget;
    if (budget !== undefined && !budget.canRetry()) return undefined;
    const tried = (this.#tried ??= new Set());
    tried.add(this.#lease!.endpoint.id);
    const next = engine.tryAcquire(this.#key, tried);
    if (next !== undefined) budget?.tryRetry();
    return next;
  }

  #retry(next: Lease, reason: string, error: unknown, retryAfterMs: number): void {
    const failed = this.#lease!;
    failed.release(retryAfterMs > 0 ? { ok: false, error, retryAfterMs } : { ok: false, error });
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
    const error = new UpstreamTimeoutError(
      `no response within ${this.#engine.requestMs} ms (${this.#attempts} attempt${this.#attempts === 1 ? '' : 's'})`,
      { attempts: this.#attempts },
    );
    this.#discarding = true;
    this.#controller?.abort(error);
    this.#discarding = false;
    if (state === S_WAITING) this.#release({ ok: false, error });
    this.#fail(error);
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
    const req = this.#req;
    const res = this.#res;
    if (res.headersSent || res.destroyed || res.writableEnded) {
      res.destroy();
      return;
    }
    const onError = this.#engine.onError;
    if (onError === undefined) {
      sendErrorAnswer(req, res, error);
      return;
    }
    const asError = error instanceof Error ? error : new Error(String(error));
    try {
      const result = onError(asError, req, res);
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(undefined, () => sendErrorAnswer(req, res, error));
      }
    } catch {
      sendErrorAnswer(req, res, error);
    }
  }
}

function upstreamError(kind: FailureKind, cause: Error, attempts: number): Error {
  const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
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
