/**
 * The request body as undici reads it when it is streamed (too large to buffer).
 * @internal
 */

import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

const kBody = Symbol('switchyard.requestBody');

type Source = IncomingMessage & { [kBody]?: RequestBodyStream | undefined };

/**
 * A `Readable` over the client request, with backpressure both ways: undici reads from
 * it, and the client request is paused whenever undici is not reading.
 *
 * Why not hand undici `req` itself: undici destroys the body stream it was given when the
 * upstream fails, and destroying an unfinished `IncomingMessage` destroys the client's
 * socket — the proxy could then no longer answer 502. Destroying this wrapper only lets
 * go of `req`.
 *
 * `prefix` holds chunks already read from `req` (while trying to buffer the body).
 */
export class RequestBodyStream extends Readable {
  /** True once undici started reading: the body can no longer be sent again. */
  started = false;
  #source: Source | undefined;
  #prefix: Buffer[] | undefined;

  constructor(source: IncomingMessage, prefix: Buffer[] | undefined) {
    super({ highWaterMark: 64 * 1024 });
    const s = source as Source;
    this.#source = s;
    this.#prefix = prefix;
    s[kBody] = this;
    // Paused first, so that adding a 'data' listener does not start the flow.
    s.pause();
    s.on('data', onSourceData);
    s.on('end', onSourceEnd);
    s.on('error', onSourceError);
    s.on('close', onSourceClose);
  }

  override _read(): void {
    this.started = true;
    const prefix = this.#prefix;
    if (prefix !== undefined) {
      this.#prefix = undefined;
      for (const chunk of prefix) this.push(chunk);
    }
    this.#source?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#detach();
    callback(error);
  }

  /** Lets go of the client request (it stays paused, unread bytes stay unread). */
  #detach(): void {
    const s = this.#source;
    if (s === undefined) return;
    this.#source = undefined;
    this.#prefix = undefined;
    s.off('data', onSourceData);
    s.off('end', onSourceEnd);
    s.off('error', onSourceError);
    s.off('close', onSourceClose);
    s[kBody] = undefined;
  }

  /** @internal Called by the source's listeners. */
  static onEnd(body: RequestBodyStream): void {
    body.push(null);
  }
}

function onSourceData(this: Source, chunk: Buffer): void {
  const body = this[kBody];
  if (body !== undefined && !body.push(chunk)) this.pause();
}

function onSourceEnd(this: Source): void {
  const body = this[kBody];
  if (body !== undefined) RequestBodyStream.onEnd(body);
}

function onSourceError(this: Source, error: Error): void {
  this[kBody]?.destroy(error);
}

function onSourceClose(this: Source): void {
  // Closed before its end: the client went away mid-body.
  const body = this[kBody];
  if (body !== undefined && !this.complete)
    body.destroy(new Error('client closed the request body'));
}
