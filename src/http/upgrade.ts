/**
 * HTTP upgrades (WebSocket): the upgrade request goes to an endpoint of the same pool,
 * with the same affinity and failover as ordinary requests; after `101 Switching
 * Protocols` the two sockets are piped together and the lease is held until they close.
 * @internal
 */

import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import { SwitchyardError } from '../errors.js';
import type { Lease, ReleaseOutcome } from '../pool/types.js';
import { publicMessage, statusForError } from './answers.js';
import { targetPath } from './exchange.js';
import { buildRequestHeaders, buildResponseHeaders, type RequestHeadFacts } from './headers.js';
import type { ProxyEngine } from './proxy-engine.js';
import { classifyError, isTimeoutKind, type RetryFacts } from './retry-policy.js';

type Controller = Dispatcher.DispatchController;

const NOT_THEIRS: ReleaseOutcome = Object.freeze({ ok: true, skipLatency: true });
const CLIENT_GONE = new SwitchyardError('ERR_ABORTED', 'the client went away');

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

class UpgradeExchange implements Dispatcher.DispatchHandler, RequestHeadFacts, RetryFacts {
  contentLength = -1;
  chunked = false;
  idempotencyKey = false;
  host: string | undefined = undefined;
  upgrade: string | undefined = undefined;
  cookie: string | undefined = undefined;
  originalClient: string | undefined = undefined;
  forwardedProto: string | undefined = undefined;
  readonly safeToRepeat = true;
  readonly replayable = true;

  readonly #engine: ProxyEngine;
  readonly #req: IncomingMessage;
  readonly #socket: Duplex;
  readonly #head: Buffer;
  #opts: Dispatcher.DispatchOptions | undefined;
  #path = '';
  #key: string | undefined;
  #cookieToken: string | undefined;
  #tls = false;
  #lease: Lease | undefined;
  #tried: Set<string> | undefined;
  #attempts = 0;
  #controller: Controller | null = null;
  #sent = false;
  #done = false;
  #discarding = false;
  #responding = false;
  #status = 0;

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
    const tlsSocket = req.socket as TLSSocket | undefined;
    const ip = tlsSocket?.remoteAddress;
    const proto = tlsSocket?.encrypted === true ? 'https' : 'http';
    const headers = buildRequestHeaders(
      req.rawHeaders,
      engine.rules,
      { ip, proto, trusted: engine.trusts(ip) },
      this,
    );
    if (this.upgrade === undefined) {
      this.#answer(400, 'not an upgrade request');
      return;
    }
    this.#tls = proto === 'https' || this.forwardedProto === 'https';
    const affinity = engine.affinity;
    if (affinity?.mode === 'cookie') this.#cookieToken = affinity.readCookie(this.cookie);
    else if (affinity?.mode === 'ip') this.#key = this.originalClient ?? ip;
    else if (affinity?.mode === 'key') this.#key = affinity.keyFn!(req) ?? undefined;
    this.#path = path;
    engine.policy.budget?.recordRequest();
    this.#opts = { method: req.method ?? 'GET', path, headers, upgrade: this.upgrade, body: null };
    this.#attempt();
  }

  #attempt(): void {
    if (this.#done) return;
    if (this.#lease === undefined) {
      try {
        this.#lease = this.#engine.acquire(this.#key, this.#cookieToken);
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
    const lines = [`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Switching Protocols'}`];
    // Hop-by-hop headers are rebuilt for this hop: the upgrade itself.
    lines.push('connection: Upgrade', `upgrade: ${String(headers.upgrade ?? this.upgrade)}`);
    pushHeaderLines(lines, buildResponseHeaders(headers, this.#setCookie()));
    socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    const lease = this.#lease!;
    upstream.on('error', noop);
    if (this.#head.length > 0) upstream.write(this.#head);
    upstream.pipe(socket);
    socket.pipe(upstream);
    // As NGINX: when either side has ended and its data was flushed to the other, the
    // tunnel is over; a close or error on either side ends both at once.
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
    const policy = this.#engine.policy;
    if (policy.isRetryStatus(statusCode)) {
      const next = this.#nextLease();
      if (next !== undefined) {
        const error = new Error(`upstream answered ${statusCode}`);
        this.#discarding = true;
        controller.abort(error);
        this.#discarding = false;
        this.#retry(next, error);
        return;
      }
    }
    // The endpoint refused the upgrade: relay its answer, then close.
    this.#responding = true;
    const lines = [`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ''}`, 'connection: close'];
    pushHeaderLines(lines, buildResponseHeaders(headers, this.#setCookie()));
    this.#socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    this.#status = statusCode;
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.#responding) this.#socket.write(chunk);
  }

  onResponseEnd(): void {
    if (!this.#responding || this.#done) return;
    this.#done = true;
    this.#socket.end();
    this.#lease?.release(this.#status >= 500 ? { ok: false } : { ok: true });
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    if (this.#done || this.#discarding) return;
    if (this.#responding) {
      this.#done = true;
      this.#lease?.release({ ok: false, error });
      this.#socket.destroy();
      return;
    }
    const kind = classifyError(error);
    if (this.#engine.policy.retriesError(kind, this.#sent, true, this)) {
      const next = this.#nextLease();
      if (next !== undefined) {
        this.#retry(next, error);
        return;
      }
    }
    this.#lease?.release({ ok: false, error });
    this.#answer(
      isTimeoutKind(kind) ? 504 : 502,
      `upstream ${kind === 'connect' ? 'connection failed' : 'failed'}`,
    );
  }

  #nextLease(): Lease | undefined {
    const policy = this.#engine.policy;
    if (this.#attempts >= policy.attempts) return undefined;
    if (policy.budget !== undefined && !policy.budget.canRetry()) return undefined;
    const tried = (this.#tried ??= new Set());
    tried.add(this.#lease!.endpoint.id);
    const next = this.#engine.tryAcquire(this.#key, tried);
    if (next !== undefined) policy.budget?.tryRetry();
    return next;
  }

  #retry(next: Lease, error: unknown): void {
    this.#lease!.release({ ok: false, error });
    this.#lease = next;
    process.nextTick(() => this.#attempt());
  }

  #setCookie(): string | undefined {
    const affinity = this.#engine.affinity;
    if (affinity?.mode !== 'cookie' || this.#lease === undefined) return undefined;
    const id = this.#lease.endpoint.id;
    return affinity.tokenFor(id) === this.#cookieToken
      ? undefined
      : affinity.setCookieFor(id, this.#tls);
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
    const body = `${status} ${STATUS_CODES[status] ?? 'Error'}: ${text}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nconnection: close\r\n` +
        `content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
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
