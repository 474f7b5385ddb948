/**
 * HTTP upgrades (WebSocket): the upgrade request goes to an endpoint of the same pool,
 * with the same target rules, affinity and failover as ordinary requests (the shared
 * {@link TryLoop}); after `101 Switching Protocols` the two sockets are piped together as
 * a tunnel that holds its lease until it closes, ends after `timeouts.tunnelIdleMs` of
 * silence both ways, and is destroyed whole on any failure or by `close({ force })`.
 * @internal
 */

import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { BadRequestError, PoolClosedError } from '../../errors.js';
import type { PoolEndpoint } from '../../pool/types.js';
import { NOT_THEIRS } from '../shared/attempt-outcome.js';
import { normalizePath, targetPath } from '../shared/request-target.js';
import type { RetryFacts } from '../shared/retry-policy.js';
import {
  CALLER_FAULT,
  CLIENT_GONE,
  DISCARDED,
  RETRYING,
  TryLoop,
  type TryOwner,
} from '../shared/try-loop.js';
import { publicMessage, statusForError } from './answers.js';
import { buildResponseHeaders } from './headers.js';
import type { ProxyEngine } from './proxy-engine.js';
import {
  affinityCookie,
  preferredEndpoint,
  type RequestHead,
  readRequestHead,
} from './request-head.js';
import { endAndLinger, Tunnel } from './tunnel.js';

type Controller = Dispatcher.DispatchController;

/**
 * Forwards one upgrade request whose protocols `upgrade.protocols` allows; the caller
 * answers the others as ordinary requests. Never throws.
 */
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

/**
 * True when every protocol the `Upgrade` header lists (`websocket`, `h2c`, `foo/2`, any
 * case) is one of `allowed` (lower case).
 */
export function upgradeAllowed(header: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (header === undefined) return false;
  if (allowed.has(header.toLowerCase())) return true;
  let any = false;
  for (const part of header.split(',')) {
    const token = part.trim();
    if (token === '') continue;
    const slash = token.indexOf('/');
    const name = (slash === -1 ? token : token.slice(0, slash)).toLowerCase();
    if (!allowed.has(name)) return false;
    any = true;
  }
  return any;
}

class UpgradeExchange implements Dispatcher.DispatchHandler, RequestHead, RetryFacts, TryOwner {
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

  // An upgrade carries no body: it can always be sent again.
  readonly safeToRepeat = true;
  readonly replayable = true;

  readonly #engine: ProxyEngine;
  readonly #req: IncomingMessage;
  readonly #socket: Duplex;
  readonly #head: Buffer;
  readonly #tries: TryLoop;
  #opts: Dispatcher.DispatchOptions | undefined;
  #path = '';
  #done = false;
  #responding = false;

  constructor(engine: ProxyEngine, req: IncomingMessage, socket: Duplex, head: Buffer) {
    this.#engine = engine;
    this.#req = req;
    this.#socket = socket;
    this.#head = head;
    this.#tries = new TryLoop(engine, this);
  }

  start(): void {
    const req = this.#req;
    const socket = this.#socket;
    const engine = this.#engine;
    socket.on('error', noop);
    socket.once('close', () => this.#clientClosed());
    if (engine.closed) {
      this.#answerError(new PoolClosedError('the proxy is closed'));
      return;
    }
    const target = targetPath(req.url);
    if (target === undefined) {
      this.#answer(400, 'unsupported request target');
      return;
    }
    const path = normalizePath(target);
    if (path === undefined) {
      this.#answer(400, 'the path climbs above the root');
      return;
    }
    let headers: string[];
    try {
      headers = readRequestHead(this, engine, req);
    } catch (error) {
      // The application's affinity key function threw: answered as an ordinary request is.
      this.#answerError(error);
      return;
    }
    if (this.upgrade === undefined) {
      this.#answer(400, 'not an upgrade request');
      return;
    }
    this.#path = path;
    this.#tries.key = this.affinityKey;
    engine.policy.budget?.recordRequest();
    this.#opts = { method: req.method ?? 'GET', path, headers, upgrade: this.upgrade, body: null };
    this.attempt();
  }

  /** @internal Runs one try on the current lease (acquiring the first one). */
  attempt(): void {
    if (this.#done) return;
    const tries = this.#tries;
    if (tries.lease === undefined) {
      const error = tries.first(preferredEndpoint(this, this.#engine));
      if (error !== undefined) {
        this.#answerError(error);
        return;
      }
    }
    tries.send(this.#opts!, this.#path, this);
  }

  /** @internal TryOwner: the next try, off undici's stack. */
  retryNow(): void {
    this.attempt();
  }

  /** @internal TryOwner. */
  retrying(_failed: PoolEndpoint, _attempt: number, _reason: string, _error: unknown): void {}

  onRequestStart(controller: Controller): void {
    if (this.#done) {
      controller.abort(CLIENT_GONE);
      return;
    }
    this.#tries.started(controller);
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
    const tries = this.#tries;
    const lease = tries.lease!;
    const engine = this.#engine;
    upstream.on('error', noop);
    try {
      const lines = [`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Switching Protocols'}`];
      // Hop-by-hop headers are rebuilt for this hop: the upgrade itself.
      lines.push('connection: Upgrade', `upgrade: ${String(headers.upgrade ?? this.upgrade)}`);
      const setCookie = affinityCookie(this, engine, lease.endpoint.id);
      pushHeaderLines(lines, buildResponseHeaders(headers, setCookie));
      socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
      if (this.#head.length > 0) upstream.write(this.#head);
    } catch {
      upstream.destroy();
      socket.destroy();
      lease.release(NOT_THEIRS);
      return;
    }
    upstream.pipe(socket);
    socket.pipe(upstream);
    const tunnel = new Tunnel(socket, upstream, () => lease.release(NOT_THEIRS));
    engine.openTunnel(tunnel);
    const idleMs = engine.tunnelIdleMs;
    // Node's socket timeout counts writes as well as reads: silence both ways.
    if (idleMs > 0 && typeof (socket as Socket).setTimeout === 'function') {
      (socket as Socket).setTimeout(idleMs, () => tunnel.close());
    }
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
    const tries = this.#tries;
    if (tries.retriesResponse(controller, statusCode, headers)) return;
    // The endpoint refused the upgrade: relay its answer, then close.
    const lease = tries.lease!;
    this.#responding = true;
    const lines = [`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ''}`, 'connection: close'];
    const setCookie = affinityCookie(this, this.#engine, lease.endpoint.id);
    pushHeaderLines(lines, buildResponseHeaders(headers, setCookie));
    this.#socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.#responding && !this.#done) this.#socket.write(chunk);
  }

  onResponseEnd(): void {
    if (!this.#responding || this.#done) return;
    this.#done = true;
    this.#tries.delivered();
    endAndLinger(this.#socket, undefined);
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    const tries = this.#tries;
    if (this.#done || tries.discarding) return;
    if (this.#responding) {
      this.#done = true;
      tries.broke(error);
      this.#socket.destroy();
      return;
    }
    const verdict = tries.failed(error, true);
    if (verdict === RETRYING) return;
    if (verdict === CALLER_FAULT) {
      this.#answerError(new BadRequestError('the request cannot be forwarded as it stands'));
      return;
    }
    this.#answerError(tries.error);
  }

  #clientClosed(): void {
    if (this.#done) return;
    this.#done = true;
    this.#tries.abandon(CLIENT_GONE);
  }

  #answerError(error: unknown): void {
    this.#answer(statusForError(error), publicMessage(error));
  }

  /** Answers with a short text of the proxy's own and closes the connection. */
  #answer(status: number, text: string): void {
    this.#done = true;
    // A lease still held is not the endpoint's fault (failures were released already).
    this.#tries.abandon(DISCARDED);
    const socket = this.#socket;
    if (socket.destroyed) return;
    const reason = STATUS_CODES[status] ?? 'Error';
    const body = `${status} ${reason}: ${text}\n`;
    endAndLinger(
      socket,
      `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\n` +
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
