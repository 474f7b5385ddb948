/**
 * A connection pool to one plain-HTTP/1.1 endpoint, specialised for proxying. It speaks the
 * part of undici's dispatcher interface the proxy uses (`dispatch(opts, handler)` with the
 * `onRequestStart` / `onResponseStart` / `onResponseData` / `onResponseEnd` /
 * `onResponseError` handler and its controller), so the proxy's exchange and try loop are
 * the same over it as over undici; errors carry undici's codes, so failover reads them the
 * same way.
 *
 * What makes it cheaper than a general client, per request: the request head is written as
 * one string, next to a buffered body in the same `writev`; responses are parsed by Node's
 * own llhttp binding (the one `node:http` uses, in C++) instead of a WebAssembly parser with
 * a JavaScript call per header, and that parser reads the socket's handle itself, as Node's
 * HTTP server does (no buffer and no stream event per read reach JavaScript); there is no
 * request queue object, no promise and no timer per request — one sweep per pool checks
 * connect, header, body and keep-alive deadlines.
 *
 * It takes `http:` endpoints only, with none of `connect`, `allowH2` or `dispatcherFactory`
 * (those go through undici, as do upgrades), and only while Node's parser binding has the
 * shape this file expects ({@link fastClientAvailable}).
 * @internal
 */

import net from 'node:net';
import type { Dispatcher } from 'undici';
import { eqi, type HeaderObject, headersFromFlat } from './flat-headers.js';
import { isWhole, ReleasingWriter, worthReleasing } from './release-chunk.js';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

// ---- Node's llhttp binding (`node:_http_common`), checked once ----

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(chunk: Buffer): number | Error;
  finish(): number | Error | undefined;
  /** Reads `handle` from C++: no JavaScript buffer and no `'data'` event per read. */
  consume(handle: object): void;
  unconsume(): void;
  [callback: number]: unknown;
}
/**
 * The read controls of a socket's handle, the flag `net.Socket` keeps beside them, and the
 * one Node's HTTP server sets on a handle its parser consumes.
 */
interface ReadHandle {
  reading: boolean;
  _consumed?: boolean;
  readStart(): number;
  readStop(): number;
}

interface ParserClass {
  new (): Parser;
  readonly RESPONSE: number;
  readonly kOnHeaders: number;
  readonly kOnMessageBegin: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kOnExecute: number;
}

function loadParser(): ParserClass | undefined {
  try {
    const common = process.getBuiltinModule?.('_http_common') as
      | { HTTPParser?: ParserClass }
      | undefined;
    const P = common?.HTTPParser;
    if (
      typeof P !== 'function' ||
      typeof P.RESPONSE !== 'number' ||
      typeof P.kOnHeaders !== 'number' ||
      typeof P.kOnMessageBegin !== 'number' ||
      typeof P.kOnHeadersComplete !== 'number' ||
      typeof P.kOnBody !== 'number' ||
      typeof P.kOnMessageComplete !== 'number' ||
      typeof P.kOnExecute !== 'number' ||
      typeof P.prototype.initialize !== 'function' ||
      typeof P.prototype.execute !== 'function' ||
      typeof P.prototype.finish !== 'function' ||
      typeof P.prototype.consume !== 'function' ||
      typeof P.prototype.unconsume !== 'function'
    ) {
      return undefined;
    }
    return P;
  } catch {
    return undefined;
  }
}

const HTTPParser = loadParser();

/** True when Node's HTTP parser binding is there as expected (else undici carries everything). */
export const fastClientAvailable = HTTPParser !== undefined;

// ---- errors, with undici's codes (the retry policy classifies by code) ----

function coded(message: string, code: string): Error {
  const error = new Error(message) as Error & { code: string };
  error.code = code;
  return error;
}
const invalid = (message: string) => coded(message, 'UND_ERR_INVALID_ARG');

// ---- the request head ----

/** The `timeout` parameter of a `Keep-Alive` header (RFC 2068 §19.7.1.1). */
const KEEP_ALIVE_TIMEOUT = /(?:^|,)[\t ]*timeout=(\d{1,9})/i;

/** The end of a message head. */
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/**
 * A response declaring at least this many body bytes is read from the socket's `'data'`
 * (its body passed on as slices of the reads), and so is the next one on that connection;
 * a smaller one is read by the parser from the handle, as is the next one. See
 * {@link Connection}.
 */
const LARGE_BODY_BYTES = 16 * 1024;

const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const BAD_PATH = /[^\u0021-\u00ff]/;

/** Methods that carry a body by definition: an empty one is sent as `content-length: 0`. */
function expectsPayload(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'QUERY';
}

interface Head {
  text: string;
  /** The `Host` the headers gave, if any. */
  host: string | undefined;
  /** The `Content-Length` the headers declared, or -1. */
  declared: number;
  /** A `Connection: close` was asked for: the connection is not reused. */
  close: boolean;
}

/** One header line, checked as undici checks it. @throws an `UND_ERR_INVALID_ARG` error */
function line(head: Head, name: string, value: string): string {
  if (!TOKEN.test(name)) throw invalid('invalid header key');
  if (BAD_VALUE.test(value)) throw invalid(`invalid ${name} header`);
  switch (name.length) {
    case 14:
      if (eqi(name, 'content-length')) {
        const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
        if (!Number.isSafeInteger(n)) throw invalid('invalid content-length header');
        head.declared = n;
        return '';
      }
      break;
    case 10:
      if (eqi(name, 'connection')) {
        // Consumed, as undici does: the head says `keep-alive` or `close` itself.
        const v = value.toLowerCase();
        if (v !== 'close' && v !== 'keep-alive') throw invalid('invalid connection header');
        if (v === 'close') head.close = true;
        return '';
      }
      if (eqi(name, 'keep-alive')) throw invalid('invalid keep-alive header');
      break;
    case 17:
      if (eqi(name, 'transfer-encoding')) throw invalid('invalid transfer-encoding header');
      break;
    case 7:
      if (eqi(name, 'upgrade')) throw invalid('invalid upgrade header');
      break;
    case 4:
      if (eqi(name, 'host')) {
        if (head.host !== undefined) throw invalid('duplicate host header');
        head.host = value;
        return '';
      }
      break;
    case 6:
      if (eqi(name, 'expect')) throw coded('expect header not supported', 'UND_ERR_NOT_SUPPORTED');
      break;
  }
  return `${name}: ${value}\r\n`;
}

/** The head's lines, the `Host` one included. @throws an `UND_ERR_INVALID_ARG` error */
function buildHead(opts: Dispatcher.DispatchOptions, authority: string): Head {
  const method = opts.method;
  if (typeof method !== 'string' || !TOKEN.test(method)) throw invalid('invalid request method');
  const path = opts.path;
  if (typeof path !== 'string' || (path[0] !== '/' && path !== '*')) {
    throw invalid('path must be an absolute URL or start with a slash');
  }
  if (BAD_PATH.test(path)) throw invalid('invalid request path');
  const head: Head = { text: '', host: undefined, declared: -1, close: false };
  let text = '';
  const headers = opts.headers as unknown;
  if (Array.isArray(headers)) {
    if (headers.length % 2 !== 0) throw invalid('headers array must be even');
    for (let i = 0; i < headers.length; i += 2) {
      const name = String(headers[i]);
      const value = headers[i + 1] as unknown;
      if (Array.isArray(value)) for (const v of value) text += line(head, name, String(v));
      else text += line(head, name, String(value));
    }
  } else if (headers !== null && typeof headers === 'object') {
    for (const name of Object.keys(headers)) {
      const value = (headers as Record<string, unknown>)[name];
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) text += line(head, name, String(v));
      else text += line(head, name, String(value));
    }
  } else if (headers != null) {
    throw invalid('headers must be an object or an array');
  }
  // Host first (RFC 9112 §3.2), then the connection's own header, then the rest.
  head.text = `${method} ${path} HTTP/1.1\r\nhost: ${head.host ?? authority}\r\nconnection: ${head.close ? 'close' : 'keep-alive'}\r\n${text}`;
  return head;
}

// ---- request bodies ----

/** Marks a {@link PushBody}. */
export const PUSH_BODY: unique symbol = Symbol('switchyard.pushBody');

/**
 * A request body that hands its chunks over as they come (the proxy's streamed body):
 * no promise per chunk, as `readable.pipe` does.
 */
export interface PushBody {
  readonly [PUSH_BODY]: true;
  /** Starts sending to `sink`. */
  start(sink: BodySink): void;
  /** The sink said no (`chunk` returned false) and can take more now. */
  resume(): void;
}

/**
 * What the client calls on a handler besides undici's: `onResponseData`'s third argument
 * says the handler owns the whole `ArrayBuffer` under `chunk` (the parser copied the piece
 * out of the read into a buffer of its own), so it may write it with a
 * {@link ReleasingWriter}, which frees it once written. undici's own handlers ignore the
 * argument.
 */
export interface OwningHandler {
  onResponseData?(controller: Controller, chunk: Buffer, owned: boolean): void;
}

/** Where a {@link PushBody} sends. */
export interface BodySink {
  /**
   * One chunk; false when the upstream socket is full: wait for `resume()`. `owned`: the
   * caller gives `data` up, nobody else holds it, so its memory may be released as soon as
   * the socket has written it (see {@link ReleasingWriter}).
   */
  chunk(data: Buffer, owned: boolean): boolean;
  /** The body ended. */
  end(): void;
  /** The body failed (the client went away mid-body). */
  fail(error: Error): void;
}

/**
 * Bytes a streamed body may have waiting on the upstream socket before the client request
 * is paused. Not the socket's own 16 KiB mark: one 64 KiB read is over that even when the
 * kernel took all of it at once, so the client request would be paused and resumed after
 * every read. A chunked body's framing is corked for the rest of the tick: the pieces one
 * read of a chunked request yields go out in one `writev`.
 */
const BODY_HIGH_WATER_BYTES = 128 * 1024;

function uncorkBody(writer: BodyWriter): void {
  writer.uncork();
}

const LENGTH_MISMATCH = 'Request body length does not match content-length header';

/** Writes a streamed body to one connection: chunked, or by its declared length. */
class BodyWriter implements BodySink {
  #written = 0;
  #corked = false;
  /** Writes the owned chunks, each freed once written. */
  readonly #releasing = new ReleasingWriter();
  readonly #onDrain: () => void;

  constructor(
    readonly conn: Connection,
    readonly exchange: Exchange,
    readonly body: PushBody,
    readonly declared: number,
  ) {
    this.#onDrain = () => {
      if (exchange.conn === conn) body.resume();
    };
    conn.socket.on('drain', this.#onDrain);
  }

  chunk(data: Buffer, owned: boolean): boolean {
    const exchange = this.exchange;
    const conn = this.conn;
    if (exchange.conn !== conn || data.length === 0) return true;
    const socket = conn.socket;
    conn.active = Date.now();
    const declared = this.declared;
    if (declared === -1) {
      this.#written += data.length;
      if (!this.#corked) {
        this.#corked = true;
        socket.cork();
        process.nextTick(uncorkBody, this);
      }
      socket.write(`\r\n${data.length.toString(16)}\r\n`, 'latin1');
      this.#write(socket, data, owned);
      return socket.writableLength < BODY_HIGH_WATER_BYTES;
    }
    if (this.#written + data.length > declared) {
      // Never past the declared length: the rest would be read as another request.
      conn.noReuse();
      const piece = data.subarray(0, declared - this.#written);
      if (piece.length === 0) return true;
      this.#written += piece.length;
      socket.write(piece);
    } else {
      this.#written += data.length;
      this.#write(socket, data, owned);
    }
    return socket.writableLength < BODY_HIGH_WATER_BYTES;
  }

  /** Writes `data`; an owned whole buffer is released once the socket is done with it. */
  #write(socket: net.Socket, data: Buffer, owned: boolean): void {
    if (owned && isWhole(data) && worthReleasing(data)) this.#releasing.write(socket, data);
    else socket.write(data);
  }

  /** @internal The tick's chunks are framed: one `writev` for them all. */
  uncork(): void {
    this.#corked = false;
    this.conn.socket.uncork();
  }

  end(): void {
    const exchange = this.exchange;
    const conn = this.conn;
    conn.socket.off('drain', this.#onDrain);
    if (exchange.conn !== conn) return;
    if (this.declared === -1) {
      // The CR LF first ends the last chunk's data, or (for an empty body) the head.
      conn.socket.write('\r\n0\r\n\r\n', 'latin1');
    } else if (this.#written !== this.declared) {
      exchange.fail(coded(LENGTH_MISMATCH, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'));
      return;
    }
    exchange.bodyDone = true;
  }

  fail(error: Error): void {
    const exchange = this.exchange;
    this.conn.socket.off('drain', this.#onDrain);
    if (exchange.conn === this.conn) exchange.fail(error);
  }
}

/** What every request's `onRequestStart` and trailer-less `onResponseEnd` get: nothing, shared. */
const NO_CONTEXT: object = Object.freeze({});
const NO_TRAILERS: HeaderObject = Object.freeze({}) as HeaderObject;

// ---- one request ----

const ST_WAITING = 0; // queued or connecting
const ST_SENT = 1; // written (or writing), waiting for the head
const ST_BODY = 2; // response head delivered, body flowing
const ST_DONE = 3;

/** A request in flight; also its handler's controller. */
class Exchange implements Controller {
  state = ST_WAITING;
  conn: Connection | null = null;
  /** The request body was written to its end. */
  bodyDone = false;
  /** Some of the request was written: its connection cannot serve another after a failure. */
  written = false;
  /** A HEAD request: its response has no body whatever its headers say. */
  readonly head: boolean;
  #aborted = false;
  #paused = false;
  #reason: Error | null = null;

  constructor(
    readonly pool: H1Pool,
    readonly opts: Dispatcher.DispatchOptions,
    readonly handler: Handler,
    readonly text: Head,
  ) {
    this.head = opts.method === 'HEAD';
  }

  get aborted(): boolean {
    return this.#aborted;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#reason;
  }

  abort(reason: Error): void {
    if (this.state === ST_DONE) return;
    this.#aborted = true;
    this.#reason = reason;
    this.fail(reason);
  }

  pause(): void {
    this.#paused = true;
    this.conn?.reading(false);
  }

  resume(): void {
    this.#paused = false;
    const conn = this.conn;
    if (conn !== null) {
      // The body timeout counts from the resume, not from the pause.
      conn.active = Date.now();
      conn.reading(true);
    }
  }

  /** Ends the exchange with `error` (once); its connection, if any, is not reused. */
  fail(error: Error): void {
    if (this.state === ST_DONE) return;
    this.state = ST_DONE;
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) conn.lose(this, this.written);
    else this.pool.unqueue(this);
    this.handler.onResponseError?.(this, error);
  }
}

// ---- one connection ----

const C_CONNECTING = 0;
const C_IDLE = 1;
const C_BUSY = 2;
const C_DEAD = 3;

/**
 * One connection, read one of two ways, chosen per response at the message boundary:
 *
 * - **consumed** (small bodies): the parser reads the socket's handle in C++, as Node's HTTP
 *   server does, so a read costs no JavaScript buffer, no stream bookkeeping and no `'data'`
 *   event; the parser's callbacks and `kOnExecute` after each read are all that reach
 *   JavaScript. Body pieces are the parser's copies.
 * - **data** (large bodies, after a response of {@link LARGE_BODY_BYTES} or more): each read
 *   comes as the socket's `'data'`; a head is cut at its end and given to the parser, and a
 *   `Content-Length` body is passed on as slices of the reads, never copied.
 *
 * Measured on the proxy: read consumed, a small response costs some 3 % less CPU than
 * read as `'data'`, a 64 KiB one some 4 % more (the copy of every body byte). The end of the
 * stream and read errors come as the socket's `'end'` and `'error'` either way.
 */
class Connection {
  readonly socket: net.Socket;
  readonly parser: Parser;
  state = C_CONNECTING;
  /** Not yet counted out of the pool's connecting figure. */
  fresh = true;
  exchange: Exchange | null = null;
  /** Last time bytes moved (or the state changed), for the pool's deadline sweep. */
  active = Date.now();
  /** How long this connection may stay idle, ms: the setting, or less if the server says so. */
  idleLimit: number;
  /** The handle the parser can consume, if the socket has one of the kind it reads. */
  readonly #handle: ReadHandle | undefined;
  readonly #mode: 'adaptive' | 'consume' | 'data';
  /** The parser reads the handle now (else it is fed the socket's `'data'`). */
  #consumed = false;
  /** The current response declared a large body: the next one is read as `'data'`. */
  #large = false;
  #partial: string[] = [];
  #informational = false;
  /** Bytes of a Content-Length body still to pass on (the parser skipped it). */
  #remaining = 0;
  /** The parser was given exactly one head, starting at a message boundary. */
  #exact = false;
  /** The parser holds nothing of a message: what comes next starts one. */
  #clean = true;
  #headDone = false;
  #keepAlive = true;
  #complete = false;

  constructor(
    readonly pool: H1Pool,
    host: string,
    port: number,
  ) {
    const socket = net.connect({ host, port, noDelay: true });
    this.socket = socket;
    this.idleLimit = pool.keepAliveTimeoutMs;
    const parser = new HTTPParser!();
    parser.initialize(HTTPParser!.RESPONSE, {}, 0, 0);
    parser[HTTPParser!.kOnHeaders] = (headers: string[]) => {
      for (const h of headers) this.#partial.push(h);
    };
    parser[HTTPParser!.kOnHeadersComplete] = (
      _major: number,
      _minor: number,
      headers: string[] | undefined,
      _method: unknown,
      _url: unknown,
      status: number,
      message: string,
      upgrade: boolean,
      keepAlive: boolean,
    ) => this.#onHead(headers, status, message, upgrade, keepAlive);
    parser[HTTPParser!.kOnBody] = (chunk: Buffer) => this.#onBody(chunk);
    parser[HTTPParser!.kOnMessageComplete] = () => this.#onComplete();
    parser[HTTPParser!.kOnMessageBegin] = () => {
      // A message nobody asked for (bytes after the response): never reuse this connection.
      const exchange = this.exchange;
      if (exchange === null || exchange.state !== ST_SENT) this.#keepAlive = false;
    };
    parser[HTTPParser!.kOnExecute] = (result: number | Error) => this.#afterRead(result);
    this.parser = parser;
    const handle = (socket as unknown as { _handle?: ReadHandle & { isStreamBase?: boolean } })
      ._handle;
    this.#handle = handle?.isStreamBase === true ? handle : undefined;
    this.#mode = pool.readMode;
    if (this.#mode !== 'data') this.#consume(true);
    socket.on('connect', () => this.#onConnect());
    // Also when consumed: a flowing socket is what emits `'end'`.
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('error', (error: Error) => this.#onError(error));
    socket.on('close', () => this.#onClose());
  }

  /**
   * Starts or stops reading the socket (a paused handler). A consumed handle is told
   * directly; the socket's own flag follows, so that the stream neither restarts nor stops
   * it behind the parser's back.
   */
  reading(on: boolean): void {
    if (!this.#consumed) {
      if (on) this.socket.resume();
      else this.socket.pause();
      return;
    }
    const handle = this.#handle;
    if (handle === undefined || this.socket.destroyed || handle.reading === on) return;
    handle.reading = on;
    const error = on ? handle.readStart() : handle.readStop();
    if (error !== 0) this.socket.destroy(coded('read control failed', 'UND_ERR_SOCKET'));
  }

  /**
   * Lets the parser read the handle, or gives the reads back to the socket's `'data'`; only
   * at a message boundary, with nothing read ahead (a connection between responses).
   */
  #consume(on: boolean): void {
    if (on === this.#consumed || this.#handle === undefined || this.socket.destroyed) return;
    const handle = this.#handle;
    if (on) this.parser.consume(handle);
    else this.parser.unconsume();
    handle._consumed = on;
    this.#consumed = on;
  }

  /** Starts `exchange` on this (connected, idle) connection. */
  start(exchange: Exchange): void {
    this.state = C_BUSY;
    this.exchange = exchange;
    exchange.conn = this;
    exchange.state = ST_SENT;
    this.#headDone = false;
    this.#complete = false;
    this.#remaining = 0;
    this.#exact = false;
    this.#clean = true;
    this.#large = false;
    this.#keepAlive = !exchange.text.close;
    this.active = Date.now();
    const handler = exchange.handler;
    handler.onRequestStart?.(exchange, NO_CONTEXT);
    if (exchange.state === ST_DONE) return;
    this.reading(!exchange.paused);
    const body = exchange.opts.body as unknown;
    const head = exchange.text;
    const socket = this.socket;
    if (body == null || Buffer.isBuffer(body)) {
      const length = body == null ? 0 : (body as Buffer).length;
      if (head.declared !== -1 && head.declared !== length) {
        // Refused before a byte went out: the connection serves the next request.
        exchange.fail(coded(LENGTH_MISMATCH, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'));
        return;
      }
      exchange.written = true;
      const framing =
        length > 0 || expectsPayload(exchange.opts.method)
          ? `content-length: ${length}\r\n\r\n`
          : '\r\n';
      if (length === 0) socket.write(head.text + framing, 'latin1');
      else {
        socket.cork();
        socket.write(head.text + framing, 'latin1');
        socket.write(body as Buffer);
        socket.uncork();
      }
      exchange.bodyDone = true;
      return;
    }
    if ((body as Partial<PushBody>)[PUSH_BODY] === true) {
      exchange.written = true;
      const push = body as PushBody;
      socket.write(
        head.text +
          (head.declared === -1
            ? 'transfer-encoding: chunked\r\n'
            : `content-length: ${head.declared}\r\n\r\n`),
        'latin1',
      );
      push.start(new BodyWriter(this, exchange, push, head.declared));
      return;
    }
    const iterable = body as AsyncIterable<Buffer>;
    if (typeof iterable[Symbol.asyncIterator] !== 'function') {
      exchange.fail(invalid('body must be a Buffer or an async iterable'));
      return;
    }
    exchange.written = true;
    void this.#pump(exchange, iterable[Symbol.asyncIterator](), head);
  }

  /** Streams an iterator body: `content-length` framing when declared, else chunked. */
  async #pump(exchange: Exchange, body: AsyncIterator<Buffer>, head: Head): Promise<void> {
    const socket = this.socket;
    const declared = head.declared;
    const chunked = declared === -1;
    socket.write(
      head.text +
        (chunked ? 'transfer-encoding: chunked\r\n' : `content-length: ${declared}\r\n\r\n`),
      'latin1',
    );
    let written = 0;
    try {
      for (;;) {
        const next = await body.next();
        if (exchange.conn !== this) return;
        if (next.done) break;
        let chunk = next.value;
        if (chunk.length === 0) continue;
        if (!chunked && written + chunk.length > declared) {
          // Never past the declared length: the rest would be read as another request.
          this.#keepAlive = false;
          chunk = chunk.subarray(0, declared - written);
          if (chunk.length === 0) continue;
        }
        written += chunk.length;
        this.active = Date.now();
        let more: boolean;
        if (chunked) {
          socket.cork();
          socket.write(`\r\n${chunk.length.toString(16)}\r\n`, 'latin1');
          more = socket.write(chunk);
          socket.uncork();
        } else more = socket.write(chunk);
        if (!more && !(await this.#drained())) return;
      }
      if (!chunked && written !== declared) {
        throw coded(LENGTH_MISMATCH, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
      }
      // The CR LF first ends the last chunk's data, or (for an empty body) the head.
      if (chunked) socket.write('\r\n0\r\n\r\n', 'latin1');
      exchange.bodyDone = true;
    } catch (error) {
      if (exchange.conn === this) exchange.fail(error as Error);
    }
  }

  #drained(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = this.socket;
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve(!socket.destroyed);
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /** This connection is not to carry another request (its request body broke the framing). */
  noReuse(): void {
    this.#keepAlive = false;
  }

  /**
   * The exchange on this connection ended early: the connection goes, unless nothing of the
   * request was written yet (aborted in `onRequestStart`), and then it serves the next.
   */
  lose(exchange: Exchange, written: boolean): void {
    if (this.exchange === exchange) this.exchange = null;
    if (written || this.state !== C_BUSY) {
      this.destroy();
      return;
    }
    this.state = C_IDLE;
    this.reading(true);
    queueMicrotask(() => this.pool.ready(this));
  }

  destroy(): void {
    if (this.state === C_DEAD) return;
    this.state = C_DEAD;
    this.pool.forget(this);
    this.socket.destroy();
  }

  #onConnect(): void {
    if (this.state !== C_CONNECTING) return;
    this.active = Date.now();
    this.state = C_IDLE;
    this.pool.ready(this);
  }

  /**
   * A read, when the parser does not consume the handle: a head is cut at its end and
   * parsed, a `Content-Length` body after it passed on as slices of the read.
   */
  #onData(chunk: Buffer): void {
    this.active = Date.now();
    if (this.#consumed || (this.exchange === null && this.state !== C_BUSY)) {
      // Bytes nobody asked for (or read ahead of a switch to the parser): the connection
      // cannot be trusted with a request.
      this.destroy();
      return;
    }
    const length = chunk.length;
    let at = 0;
    // A socket read is a whole ArrayBuffer of its own; its last piece handed on (nothing of
    // it handed on before, the rest consumed here) is the handler's to free.
    let owned = isWhole(chunk);
    while (at < length && this.state === C_BUSY) {
      if (this.#remaining > 0) {
        // A Content-Length body: passed on as slices of what the socket read, not copied.
        const take = Math.min(this.#remaining, length - at);
        const piece = take === length ? chunk : chunk.subarray(at, at + take);
        at += take;
        this.#remaining -= take;
        const exchange = this.exchange;
        if (exchange === null) continue;
        const last = owned && at === length;
        owned = false;
        try {
          (exchange.handler as OwningHandler).onResponseData?.(exchange, piece, last);
          if (this.#remaining === 0 && this.exchange === exchange) this.#finish(exchange, null);
        } catch (error) {
          this.#broke(error);
          return;
        }
        continue;
      }
      // The parser takes the rest: a head (cut at its end when it starts in this chunk,
      // so that its body can be passed on as above), or a body it frames itself.
      let end = length;
      const exchange = this.exchange;
      this.#exact = false;
      if (exchange !== null && exchange.state === ST_SENT) {
        // From a message boundary, the first CR LF CR LF ends the head. After part of a
        // head went in earlier, it may not (the end could straddle the chunks): the
        // parser then reads the body too.
        const headEnd = chunk.indexOf(HEAD_END, at);
        if (headEnd !== -1) {
          end = headEnd + 4;
          this.#exact = this.#clean;
        }
      }
      const piece = at === 0 && end === length ? chunk : chunk.subarray(at, end);
      at = end;
      let result: number | Error;
      try {
        result = this.parser.execute(piece);
      } catch (error) {
        result = error instanceof Error ? error : new Error(String(error));
      }
      if (result instanceof Error) {
        this.#broke(result);
        return;
      }
      // After exactly one head the parser is at a boundary again; after anything else, not.
      this.#clean = this.#exact;
    }
    if (this.#complete && this.state === C_BUSY && this.exchange === null) this.#release();
  }

  /**
   * After the parser took one read of the handle it consumes (`kOnExecute`): a parse error
   * ends the exchange and the connection; bytes on an idle connection were asked for by
   * nobody, so it cannot be trusted with a request; a response completed in the read frees
   * the connection.
   */
  #afterRead(result: number | Error): void {
    this.active = Date.now();
    if (this.state === C_DEAD) return;
    if (result instanceof Error) {
      this.#broke(result);
      return;
    }
    if (this.state !== C_BUSY) {
      this.destroy();
      return;
    }
    if (this.#complete && this.exchange === null) this.#release();
  }

  /** The response could not be read, or a handler threw: the exchange and the connection end. */
  #broke(error: unknown): void {
    const exchange = this.exchange;
    this.destroy();
    if (exchange !== null) {
      exchange.conn = null;
      exchange.fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * The parser's callbacks run from C++ when it consumes the handle: what a handler throws
   * must end here (the exchange and the connection end with it), not reach the event loop.
   */
  #onHead(
    headers: string[] | undefined,
    status: number,
    message: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    try {
      return this.#head(headers, status, message, upgrade, keepAlive);
    } catch (error) {
      this.#broke(error);
      return 1;
    }
  }

  #head(
    headers: string[] | undefined,
    status: number,
    message: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    let raw = headers;
    if (raw === undefined) {
      raw = this.#partial;
      this.#partial = [];
    } else if (this.#partial.length > 0) {
      raw = this.#partial.concat(raw);
      this.#partial = [];
    }
    if (this.state === C_DEAD) return 1;
    const exchange = this.exchange;
    if (exchange === null || exchange.state !== ST_SENT) {
      this.destroy();
      return 1;
    }
    if (status < 200 && status !== 101) {
      this.#informational = true;
      exchange.handler.onResponseStart?.(exchange, status, headersFromFlat(raw), message);
      return 1;
    }
    if (upgrade || status === 101) {
      this.#broke(coded('bad upgrade', 'UND_ERR_SOCKET'));
      return 1;
    }
    this.#headDone = true;
    if (!keepAlive) this.#keepAlive = false;
    exchange.state = ST_BODY;
    const parsed = headersFromFlat(raw);
    const hint = parsed['keep-alive'];
    if (typeof hint === 'string') this.#keepAliveHint(hint);
    // A HEAD answer has no body whatever its headers say: the parser skips it (`1`). So
    // does a body of known length after a head cut at its end (read as `'data'` only):
    // #onData passes it on without the copy the parser would make of every body byte.
    let skip = exchange.head;
    let bypass = 0;
    if (!skip && parsed['transfer-encoding'] === undefined) {
      const declared = parsed['content-length'];
      const text = typeof declared === 'string' ? declared : declared?.[0];
      const n = text === undefined ? 0 : Number(text);
      if (n > 0 && Number.isSafeInteger(n) && status !== 204 && status !== 304) {
        this.#large = n >= LARGE_BODY_BYTES;
        if (this.#exact) {
          skip = true;
          bypass = n;
        }
      }
    }
    exchange.handler.onResponseStart?.(exchange, status, parsed, message);
    if (bypass > 0 && this.exchange === exchange) this.#remaining = bypass;
    return skip ? 1 : 0;
  }

  /**
   * `Keep-Alive: timeout=N` from the server: idle for at most N s less 2 s (undici's
   * margin for the race with the server's own close), and never longer than the setting.
   */
  #keepAliveHint(value: string): void {
    const match = KEEP_ALIVE_TIMEOUT.exec(value);
    if (match === null) return;
    const limit = Math.min(Number(match[1]) * 1000 - 2_000, this.pool.keepAliveTimeoutMs);
    if (limit <= 0) this.#keepAlive = false;
    else this.idleLimit = limit;
  }

  #onBody(chunk: Buffer): void {
    const exchange = this.exchange;
    if (exchange === null || exchange.state !== ST_BODY || this.state === C_DEAD) return;
    try {
      // The parser copies each body piece into a buffer of its own: the handler's to free.
      (exchange.handler as OwningHandler).onResponseData?.(exchange, chunk, isWhole(chunk));
    } catch (error) {
      this.#broke(error);
    }
  }

  #onComplete(): void {
    const exchange = this.exchange;
    if (this.#informational) {
      this.#informational = false;
      this.#partial = [];
      return;
    }
    // The body the parser skipped is still to come (#onData passes it on).
    if (
      exchange === null ||
      exchange.state !== ST_BODY ||
      this.state === C_DEAD ||
      this.#remaining > 0
    ) {
      return;
    }
    const trailers =
      this.#partial.length > 0 && this.#headDone ? headersFromFlat(this.#partial) : null;
    this.#partial = [];
    try {
      this.#finish(exchange, trailers);
    } catch (error) {
      this.#broke(error);
    }
  }

  /** The response is complete: the exchange ends, the connection is released after the read. */
  #finish(exchange: Exchange, trailers: HeaderObject | null): void {
    exchange.state = ST_DONE;
    exchange.conn = null;
    this.exchange = null;
    this.#complete = true;
    if (!exchange.bodyDone) this.#keepAlive = false;
    exchange.handler.onResponseEnd?.(exchange, trailers ?? NO_TRAILERS);
  }

  /** After a complete response: back to the pool, or closed. */
  #release(): void {
    this.#complete = false;
    if (this.state !== C_BUSY) return;
    if (!this.#keepAlive || this.socket.destroyed) {
      this.destroy();
      return;
    }
    this.state = C_IDLE;
    this.active = Date.now();
    this.reading(true);
    // The next response is read the way that suits this one's size.
    if (this.#mode === 'adaptive') this.#consume(!this.#large);
    this.pool.ready(this);
  }

  #onEnd(): void {
    // The server closed its side: a body read to the end of the connection ends here. A
    // message cut short (the parser refuses the end) is the broken connection below.
    if (this.exchange !== null && this.exchange.state === ST_BODY && this.state !== C_DEAD) {
      try {
        this.parser.finish();
      } catch (error) {
        this.#broke(error);
        return;
      }
    }
    const exchange = this.exchange;
    this.destroy();
    if (exchange !== null) {
      exchange.conn = null;
      exchange.fail(coded('other side closed', 'UND_ERR_SOCKET'));
    }
  }

  #onError(error: Error): void {
    const exchange = this.exchange;
    const connecting = this.state === C_CONNECTING;
    this.destroy();
    if (exchange !== null) {
      exchange.conn = null;
      exchange.fail(error);
    } else if (connecting) this.pool.connectFailed(error);
  }

  #onClose(): void {
    // As Node's HTTP server does once a socket closed: the parser lets go of the handle.
    if (this.#consumed) this.parser.unconsume();
    const exchange = this.exchange;
    const connecting = this.state === C_CONNECTING;
    this.destroy();
    if (exchange !== null) {
      exchange.conn = null;
      exchange.fail(coded('other side closed', 'UND_ERR_SOCKET'));
    } else if (connecting) this.pool.connectFailed(coded('other side closed', 'UND_ERR_SOCKET'));
  }

  /** The pool's sweep: fails the exchange whose deadline passed, closes a stale idle socket. */
  sweep(now: number, settings: H1Settings): void {
    const quiet = now - this.active;
    if (this.state === C_CONNECTING) {
      if (quiet >= settings.connectMs) {
        this.destroy();
        this.pool.connectFailed(coded('Connect Timeout Error', 'UND_ERR_CONNECT_TIMEOUT'));
      }
      return;
    }
    if (this.state === C_IDLE) {
      if (quiet >= this.idleLimit) this.destroy();
      return;
    }
    const exchange = this.exchange;
    if (exchange === null || this.state !== C_BUSY) return;
    if (exchange.state === ST_SENT) {
      if (settings.headersMs > 0 && quiet >= settings.headersMs) {
        this.destroy();
        exchange.conn = null;
        exchange.fail(coded('Headers Timeout Error', 'UND_ERR_HEADERS_TIMEOUT'));
      }
    } else if (exchange.state === ST_BODY && !exchange.paused) {
      if (settings.idleMs > 0 && quiet >= settings.idleMs) {
        this.destroy();
        exchange.conn = null;
        exchange.fail(coded('Body Timeout Error', 'UND_ERR_BODY_TIMEOUT'));
      }
    }
  }
}

// ---- the pool ----

/** The settings an {@link H1Pool} reads. */
export interface H1Settings {
  /** Connect timeout, ms. */
  readonly connectMs: number;
  /** Time allowed for the response head after the request's last byte moved, ms (0: none). */
  readonly headersMs: number;
  /** Longest silence between response body chunks, ms (0: none). */
  readonly idleMs: number;
  /** Most connections; `null` for no limit. */
  readonly connections: number | null;
  /** How long an idle connection is kept, ms. */
  readonly keepAliveTimeoutMs: number;
  /**
   * How responses are read (tests pin one): `adaptive` (the default) picks per response,
   * see {@link Connection}; `consume` always lets the parser read the handle; `data` never.
   */
  readonly readMode?: 'adaptive' | 'consume' | 'data';
}

/** @internal See the module comment. */
export class H1Pool {
  readonly #host: string;
  readonly #port: number;
  readonly #authority: string;
  readonly #settings: H1Settings;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  readonly #queue: Exchange[] = [];
  #connecting = 0;
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #whenEmpty: (() => void) | undefined;

  constructor(url: URL, settings: H1Settings) {
    const hostname = url.hostname;
    this.#host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    this.#port = url.port === '' ? 80 : Number(url.port);
    this.#authority = url.host;
    this.#settings = settings;
  }

  /** Starts `opts` with `handler`; every failure reaches `handler.onResponseError`. */
  dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (this.#closed) {
      const error = coded('The client is destroyed', 'UND_ERR_DESTROYED');
      queueMicrotask(() => handler.onResponseError?.(null as unknown as Controller, error));
      return false;
    }
    let head: Head;
    try {
      head = buildHead(opts, this.#authority);
    } catch (error) {
      queueMicrotask(() =>
        handler.onResponseError?.(null as unknown as Controller, error as Error),
      );
      return false;
    }
    const exchange = new Exchange(this, opts, handler, head);
    const idle = this.#idle.pop();
    if (idle !== undefined) {
      idle.start(exchange);
      return true;
    }
    this.#queue.push(exchange);
    this.#grow();
    return true;
  }

  /** Opens a connection when requests wait and the limit allows. */
  #grow(): void {
    const limit = this.#settings.connections;
    while (this.#queue.length > this.#connecting && (limit === null || this.#all.size < limit)) {
      const conn = new Connection(this, this.#host, this.#port);
      this.#connecting++;
      this.#all.add(conn);
      this.#sweep();
    }
  }

  /** @internal A connection is connected, or free again. */
  ready(conn: Connection): void {
    if (conn.state !== C_IDLE) return;
    if (conn.fresh) {
      conn.fresh = false;
      this.#connecting--;
    }
    const next = this.#queue.shift();
    if (next !== undefined) {
      conn.start(next);
      return;
    }
    if (this.#closed) {
      conn.destroy();
      return;
    }
    this.#idle.push(conn);
  }

  /** @internal A connection could not be opened: the oldest waiting request fails with why. */
  connectFailed(error: Error): void {
    const next = this.#queue.shift();
    if (next !== undefined) next.fail(error);
  }

  /** @internal A waiting request was aborted. */
  unqueue(exchange: Exchange): void {
    const at = this.#queue.indexOf(exchange);
    if (at >= 0) this.#queue.splice(at, 1);
  }

  /** @internal A connection closed. */
  forget(conn: Connection): void {
    if (!this.#all.delete(conn)) return;
    if (conn.fresh) {
      conn.fresh = false;
      this.#connecting--;
    }
    const at = this.#idle.indexOf(conn);
    if (at >= 0) this.#idle.splice(at, 1);
    if (this.#all.size === 0) {
      if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      this.#whenEmpty?.();
    }
    // Someone may still be waiting for a connection.
    if (this.#queue.length > 0 && !this.#closed) queueMicrotask(() => this.#grow());
  }

  #sweep(): void {
    if (this.#sweeper !== undefined) return;
    const s = this.#settings;
    let shortest = Math.min(s.connectMs, s.keepAliveTimeoutMs);
    if (s.headersMs > 0) shortest = Math.min(shortest, s.headersMs);
    if (s.idleMs > 0) shortest = Math.min(shortest, s.idleMs);
    const period = Math.max(10, Math.min(1_000, Math.floor(shortest / 10)));
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      for (const conn of this.#all) conn.sweep(now, s);
    }, period);
    this.#sweeper.unref();
  }

  /** How responses are read (the setting; `adaptive` unless a test pins one). */
  get readMode(): 'adaptive' | 'consume' | 'data' {
    return this.#settings.readMode ?? 'adaptive';
  }

  /** How long an idle connection is kept, ms (the setting). */
  get keepAliveTimeoutMs(): number {
    return this.#settings.keepAliveTimeoutMs;
  }

  /** True once `close` or `destroy` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops taking requests; resolves once the requests in flight ended and every socket closed. */
  close(): Promise<void> {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) conn.destroy();
    for (const waiting of this.#queue.splice(0)) {
      waiting.fail(coded('The client is destroyed', 'UND_ERR_DESTROYED'));
    }
    if (this.#all.size === 0) return Promise.resolve();
    this.#closing ??= new Promise<void>((resolve) => {
      this.#whenEmpty = resolve;
    });
    // Busy connections close as their exchange ends (a closed pool keeps none idle).
    for (const conn of [...this.#all]) if (conn.state === C_CONNECTING) conn.destroy();
    return this.#closing;
  }

  /** Closes every connection now; requests in flight fail. */
  destroy(): Promise<void> {
    const closing = this.close();
    for (const conn of [...this.#all]) {
      const exchange = conn.exchange;
      conn.destroy();
      if (exchange !== null) {
        exchange.conn = null;
        exchange.fail(coded('The client is destroyed', 'UND_ERR_DESTROYED'));
      }
    }
    return closing;
  }
}
