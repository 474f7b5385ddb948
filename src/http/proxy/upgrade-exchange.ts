/**
 * HTTP upgrades (WebSocket): the upgrade request goes to an endpoint of the same pool,
 * with the same affinity and failover as ordinary requests; after `101 Switching
 * Protocols` the two sockets are piped together and the lease is held until they close.
 * @internal
 */

import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Lease } from '../../pool/types.js';
import {
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
import { classifyError, type RetryFacts } from '../shared/retry-policy.js';
import { publicMessage, statusForError } from './answers.js';
import { buildResponseHeaders } from './headers.js';
import type { ProxyEngine } from './proxy-engine.js';
import { affinityCookie, type RequestHead, readRequestHead } from './request-head.js';

type Controller = Dispatcher.DispatchController;

/** Forwards one upgrade request. Never throws. */
export function proxyUpgrade(
  engine: ProxyEngine,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  try {
    new UpgradeExchange(engine, req, socket, head).start();
  } catch {
    socket.destroy();
  }
}

class UpgradeExchange implements Dispatcher.DispatchHandler, RequestHead, RetryFacts {
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

  // An upgrade carries no body: it can always be sent again.
  readonly safeToRepeat = true;
  readonly replayable = true;

  readonly #engine: ProxyEngine;
  readonly #req: IncomingMessage;
  readonly #socket: Duplex;
  readonly #head: Buffer;
  #opts: Dispatcher.DispatchOptions | undefined;
  #path = '';
  #lease: Lease | undefined;
  #tried: Set<string> | undefined;
  #attempts = 0;
  #controller: Controller | null = null;
  #sent = false;
  #done = false;
  #discarding = false;
  #responding = false;
  #status = 0;
  #retryAfterMs = 0;
  #latencyMs = 0;

  constructor(engine: ProxyEngine, req: IncomingMessage, socket: Duplex, head: Buffer) {
    this.#engine = engine;
    this.#req = req;
    this.#socket = socket;
    this.#head = head;
  }

  start(): void {
    const req = this.#req;
    const socket = this.#socket;
    const engine = this.#engine;
    socket.on('error', noop);
    socket.once('close', () => this.#clientClosed());
    if (engine.closed) {
      this.#answer(503, 'the proxy is closed');
      return;
    }
    const path = targetPath(req.url);
    if (path === undefined) {
      this.#answer(400, 'unsupported request target');
      return;
    }
    let headers: string[];
    try {
      headers = readRequestHead(this, engine, req);
    } catch (error) {
      // The application's affinity key function threw: answered as an ordinary request is.
      this.#answer(statusForError(error), publicMessage(error));
      return;
    }
    if (this.upgrade === undefined) {
      this.#answer(400, 'not an upgrade request');
      return;
    }
    this.#path = path;
    engine.policy.budget?.recordRequest();
    this.#opts = { method: req.method ?? 'GET', path, headers, upgrade: this.upgrade, body: null };
    this.attempt();
  }

  /** @internal Runs one try on the current lease (acquiring the first one). */
  attempt(): void {
    if (this.#done) return;
    if (this.#lease === undefined) {
      try {
        this.#lease = this.#engine.acquire(this.affinityKey, this.cookieToken);
      } catch (error) {
        this.#answer(statusForError(error), publicMessage(error));
        return;
      }
    }
    this.#attempts++;
    const upstream = this.#engine.upstreams.get(this.#lease.endpoint);
    const opts = this.#opts!;
    opts.path = upstream.basePath + this.#path;
    this.#sent = false;
    this.#controller = null;
    upstream.dispatcher.dispatch(opts, this);
  }

  onRequestStart(controller: Controller): void {
    if (this.#done) {
      controller.abort(CLIENT_GONE);
      return;
    }
    this.#controller = controller;
    this.#sent = true;
  }

  onRequestUpgrade(
    _controller: Controller,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    upstream: Duplex,
  ): void {
    const socket = this.#socket;
    if (this.#done) {
      upstream.destroy();
      return;
    }
    this.#done = true;
    const lease = this.#lease!;
    const lines = [`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Switching Protocols'}`];
    // Hop-by-hop headers are rebuilt for this hop: the upgrade itself.
    lines.push('connection: Upgrade', `upgrade: ${String(headers.upgrade ?? this.upgrade)}`);
    const setCookie = affinityCookie(this, this.#engine, lease.endpoint.id);
    pushHeaderLines(lines, buildResponseHeaders(headers, setCookie));
    socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    upstream.on('error', noop);
    if (this.#head.length > 0) upstream.write(this.#head);
    upstream.pipe(socket);
    socket.pipe(upstream);
    // As NGINX: when either side has ended and its data was flushed to the other, the
    // tunnel is over; a close or error on either side ends both at once. A tunnel's
    // lifetime says nothing about the endpoint: no latency sample.
    const finish = (): void => {
      upstream.destroy();
      socket.destroy();
      lease.release(NOT_THEIRS);
    };
    upstream.once('finish', finish);
    socket.once('finish', finish);
    upstream.once('close', finish);
    socket.once('close', finish);
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.#done) {
      controller.abort(CLIENT_GONE);
      return;
    }
    if (statusCode < 200) return;
    const engine = this.#engine;
    const retryAfterMs = retryAfterOf(engine, statusCode, headers);
    if (engine.policy.retriesStatus(statusCode, this)) {
      const next = this.#nextLease();
      if (next !== undefined) {
        const error = statusError(statusCode, this.#attempts);
        this.#discarding = true;
        try {
          controller.abort(error);
        } finally {
          this.#discarding = false;
        }
        this.#retry(next, error, retryAfterMs);
        return;
      }
    }
    // The endpoint refused the upgrade: relay its answer, then close.
    const lease = this.#lease!;
    this.#latencyMs = lease.elapsedMs();
    this.#status = statusCode;
    this.#retryAfterMs = retryAfterMs;
    this.#responding = true;
    const lines = [`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ''}`, 'connection: close'];
    const setCookie = affinityCookie(this, engine, lease.endpoint.id);
    pushHeaderLines(lines, buildResponseHeaders(headers, setCookie));
    this.#socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.#responding) this.#socket.write(chunk);
  }

  onResponseEnd(): void {
    if (!this.#responding || this.#done) return;
    this.#done = true;
    this.#socket.end();
    this.#lease?.release(
      responseOutcome(this.#status, this.#attempts, this.#latencyMs, this.#retryAfterMs),
    );
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    if (this.#done || this.#discarding) return;
    if (this.#responding) {
      this.#done = true;
      this.#lease?.release({ ok: false, error, latencyMs: this.#latencyMs });
      this.#socket.destroy();
      return;
    }
    const kind = classifyError(error);
    if (this.#engine.policy.retriesError(kind, this.#sent, true, this)) {
      const next = this.#nextLease();
      if (next !== undefined) {
        this.#retry(next, error, 0);
        return;
      }
    }
    this.#lease?.release({ ok: false, error });
    const failure = upstreamError(kind, error, this.#attempts);
    this.#answer(statusForError(failure), publicMessage(failure));
  }

  #nextLease(): Lease | undefined {
    const tried = (this.#tried ??= new Set());
    return nextLease(this.#engine, this.affinityKey, this.#attempts, this.#lease!, tried);
  }

  #retry(next: Lease, error: unknown, retryAfterMs: number): void {
    this.#lease!.release(retriedOutcome(error, retryAfterMs));
    this.#lease = next;
    // Off undici's stack: the failed try's connection is still unwinding.
    process.nextTick(retryTick, this);
  }

  #clientClosed(): void {
    if (this.#done) return;
    this.#done = true;
    this.#controller?.abort(CLIENT_GONE);
    this.#lease?.release(NOT_THEIRS);
  }

  #answer(status: number, text: string): void {
    this.#done = true;
    const socket = this.#socket;
    if (socket.destroyed) return;
    const reason = STATUS_CODES[status] ?? 'Error';
    const body = `${status} ${reason}: ${text}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\n` +
        `content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
}

function retryTick(exchange: UpgradeExchange): void {
  exchange.attempt();
}

function pushHeaderLines(lines: string[], flat: (string | string[])[]): void {
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] as string;
    const value = flat[i + 1]!;
    if (Array.isArray(value)) for (const v of value) lines.push(`${name}: ${v}`);
    else lines.push(`${name}: ${value}`);
  }
}

function noop(): void {}
