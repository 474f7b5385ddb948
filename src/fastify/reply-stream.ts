/**
 * The response the proxy writes to inside Fastify: status and headers go to the `reply`,
 * the body is this stream, handed to `reply.send()` — so Fastify's `onSend` hooks
 * (compression, header rewrites) see a proxied response as they see any other.
 * @internal
 */

import type { OutgoingHttpHeaders } from 'node:http';
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';

type HeaderInput = OutgoingHttpHeaders | readonly (string | number | readonly string[])[];

/**
 * A `PassThrough` with the parts of `http.ServerResponse` the proxy uses. Writes keep
 * their backpressure (`write()` returns false past the high-water mark, `'drain'` follows),
 * and `'close'` before `'finish'` tells the proxy that the client went away.
 * @internal
 */
export class ReplyStream extends PassThrough {
  /** The Fastify reply this stream answers. */
  readonly reply: FastifyReply;
  #sent = false;

  constructor(reply: FastifyReply) {
    super({ highWaterMark: 64 * 1024 });
    this.reply = reply;
    // Failures reach Fastify (its stream watcher) and the proxy (`'close'`); an `'error'`
    // with no listener before `reply.send()` must not take the process down.
    this.on('error', ignore);
  }

  /** True once the proxy handed its response to Fastify, or someone else answered. */
  get headersSent(): boolean {
    return this.#sent || this.reply.sent || this.reply.raw.headersSent;
  }

  /** The client's socket: a response broken mid-body is reset there. */
  get socket(): FastifyReply['raw']['socket'] {
    return this.reply.raw.socket;
  }

  get statusCode(): number {
    return this.reply.statusCode;
  }

  set statusCode(code: number) {
    this.reply.code(code);
  }

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.reply.header(name, value);
    return this;
  }

  getHeader(name: string): number | string | string[] | undefined {
    return this.reply.getHeader(name);
  }

  hasHeader(name: string): boolean {
    return this.reply.hasHeader(name);
  }

  removeHeader(name: string): void {
    this.reply.removeHeader(name);
  }

  /** Headers go with the body's first bytes, once Fastify's `onSend` hooks ran. */
  flushHeaders(): void {}

  writeContinue(): void {
    this.reply.raw.writeContinue();
  }

  writeEarlyHints(hints: Record<string, string | string[]>, callback?: () => void): void {
    if (this.headersSent) return;
    this.reply.raw.writeEarlyHints(hints, callback);
  }

  addTrailers(trailers: OutgoingHttpHeaders | readonly [string, string][]): void {
    this.reply.raw.addTrailers(trailers);
  }

  /**
   * Sets the status and headers on the reply and sends this stream as its payload:
   * Fastify runs the `onSend` hooks, then pipes the (possibly replaced) payload out.
   */
  writeHead(status: number, reasonOrHeaders?: string | HeaderInput, headers?: HeaderInput): this {
    const reply = this.reply;
    // Answered meanwhile (a 413 past bodyLimit, a client gone): nothing more to send.
    if (this.destroyed || reply.sent) {
      this.#sent = true;
      return this;
    }
    let input = headers;
    if (typeof reasonOrHeaders === 'string') reply.raw.statusMessage = reasonOrHeaders;
    else input = reasonOrHeaders;
    reply.code(status);
    if (input !== undefined) setHeaders(reply, input);
    this.#sent = true;
    reply.send(this);
    return this;
  }
}

function setHeaders(reply: FastifyReply, input: HeaderInput): void {
  if (!Array.isArray(input)) {
    const object = input as OutgoingHttpHeaders;
    for (const name in object) {
      const value = object[name];
      if (value !== undefined) reply.header(name, value);
    }
    return;
  }
  const list = input as readonly unknown[];
  if (list.length > 0 && Array.isArray(list[0])) {
    // [[name, value], …]
    for (const pair of list as readonly (readonly [string, string])[]) {
      reply.header(pair[0], pair[1]);
    }
    return;
  }
  // [name, value, name, value, …], as the proxy passes them.
  for (let i = 0; i + 1 < list.length; i += 2) {
    reply.header(String(list[i]), list[i + 1] as string | string[]);
  }
}

function ignore(): void {}
