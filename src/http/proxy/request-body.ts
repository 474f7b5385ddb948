/**
 * The request body as undici reads it when it is streamed (too large to buffer).
 * @internal
 */

import type { IncomingMessage } from 'node:http';
import { type BodySink, PUSH_BODY, type PushBody } from '../shared/h1-pool.js';

const kBody = Symbol('switchyard.requestBody');

type Source = IncomingMessage & { [kBody]?: RequestBody | undefined };

/** Bytes read ahead of undici before the client request is paused. */
const HIGH_WATER_BYTES = 64 * 1024;

const DONE: IteratorResult<Buffer> = Object.freeze({ done: true, value: undefined });

/**
 * An async iterator over the client request's body, with backpressure both ways: undici
 * asks for the next chunk when the upstream socket takes more, and the client request is
 * paused while more than 64 KiB wait unread.
 *
 * Why not hand undici `req` itself: undici destroys the body stream it was given when the
 * upstream fails, and destroying an unfinished `IncomingMessage` destroys the client's
 * socket — the proxy could then no longer answer 502. Letting go of this iterator only
 * lets go of `req`. Why not a `Readable` wrapper: it costs a stream's machinery per chunk
 * (buffer accounting, `nextTick` hops on every pause and resume), about 15 % of a large
 * upload's throughput; undici reads an iterator chunk by chunk with nothing in between.
 *
 * undici does not stop an iterator when the upstream fails: the exchange calls
 * {@link RequestBody.destroy} when it ends, which also settles a read still waiting.
 *
 * The proxy's own HTTP/1.1 client reads it as a {@link PushBody} instead: each chunk is
 * handed to the client as it comes, and `req` paused while the upstream socket is full —
 * `req.pipe(upstream)`, without a promise per chunk.
 *
 * `prefix` holds chunks already read from `req` (while trying to buffer the body).
 */
export class RequestBody implements AsyncIterableIterator<Buffer>, PushBody {
  readonly [PUSH_BODY] = true as const;
  /** True once undici started reading: the body can no longer be sent again. */
  started = false;
  #source: Source | undefined;
  #prefix: Buffer[] | undefined;
  /** Chunks read from the client and not yet taken by undici. */
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #paused = true;
  #ended = false;
  #error: Error | undefined;
  #resolve: ((result: IteratorResult<Buffer>) => void) | undefined;
  #reject: ((error: Error) => void) | undefined;
  /** Push mode: where chunks go. */
  #sink: BodySink | undefined;

  constructor(source: IncomingMessage, prefix: Buffer[] | undefined) {
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

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Buffer>> {
    this.started = true;
    const prefix = this.#prefix;
    if (prefix !== undefined) {
      const chunk = prefix.shift();
      if (chunk !== undefined) return Promise.resolve({ done: false, value: chunk });
      this.#prefix = undefined;
    }
    const chunk = this.#queue.shift();
    if (chunk !== undefined) {
      this.#queued -= chunk.length;
      if (this.#paused && this.#queued < HIGH_WATER_BYTES) this.#flow();
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended || this.#source === undefined) return Promise.resolve(DONE);
    if (this.#paused) this.#flow();
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /**
   * Push mode (the proxy's own client): chunks go to `sink` as they come, the ones read
   * ahead first; `sink.chunk` returning false pauses the client request until
   * {@link RequestBody.resume}.
   */
  start(sink: BodySink): void {
    // Nothing was queued for an iterator: a body undici began to read is never sent again.
    this.started = true;
    this.#sink = sink;
    this.resume();
  }

  /** Push mode: the upstream socket drained; chunks flow again. */
  resume(): void {
    const sink = this.#sink;
    if (sink === undefined) return;
    const prefix = this.#prefix;
    if (prefix !== undefined) {
      while (prefix.length > 0) {
        if (!sink.chunk(prefix.shift()!, false)) return;
      }
      this.#prefix = undefined;
    }
    if (this.#error !== undefined) {
      sink.fail(this.#error);
      return;
    }
    if (this.#ended) {
      this.#sink = undefined;
      sink.end();
      return;
    }
    this.#flow();
  }

  /** undici stopped reading (its loop threw): the client request is let go. */
  return(): Promise<IteratorResult<Buffer>> {
    this.destroy();
    return Promise.resolve(DONE);
  }

  /**
   * Lets go of the client request: it stays paused, unread bytes stay unread (the caller
   * decides whether to drain or close it). A read still waiting fails, so undici's loop
   * ends instead of waiting for bytes nobody will pass on.
   */
  destroy(): void {
    this.#sink = undefined;
    this.#detach();
    this.#queue.length = 0;
    this.#queued = 0;
    this.#prefix = undefined;
    if (!this.#ended) this.#fail(new Error('the request body was abandoned'));
  }

  #flow(): void {
    this.#paused = false;
    this.#source?.resume();
  }

  #detach(): void {
    const s = this.#source;
    if (s === undefined) return;
    this.#source = undefined;
    s.off('data', onSourceData);
    s.off('end', onSourceEnd);
    s.off('error', onSourceError);
    s.off('close', onSourceClose);
    s[kBody] = undefined;
  }

  #fail(error: Error): void {
    this.#error ??= error;
    const reject = this.#reject;
    this.#resolve = this.#reject = undefined;
    reject?.(this.#error);
  }

  /** @internal A chunk from the client. */
  static data(body: RequestBody, chunk: Buffer, owned: boolean): void {
    const sink = body.#sink;
    if (sink !== undefined) {
      if (!sink.chunk(chunk, owned) && !body.#paused) {
        body.#paused = true;
        body.#source?.pause();
      }
      return;
    }
    const resolve = body.#resolve;
    if (resolve !== undefined) {
      body.#resolve = body.#reject = undefined;
      resolve({ done: false, value: chunk });
      return;
    }
    body.#queue.push(chunk);
    body.#queued += chunk.length;
    if (body.#queued >= HIGH_WATER_BYTES && !body.#paused) {
      body.#paused = true;
      body.#source?.pause();
    }
  }

  /** @internal The client's body ended. */
  static end(body: RequestBody): void {
    body.#ended = true;
    body.#detach();
    const sink = body.#sink;
    if (sink !== undefined) {
      body.#sink = undefined;
      sink.end();
      return;
    }
    const resolve = body.#resolve;
    body.#resolve = body.#reject = undefined;
    resolve?.(DONE);
  }

  /** @internal The client request failed or closed before its end. */
  static failed(body: RequestBody, error: Error): void {
    body.#detach();
    body.#fail(error);
    const sink = body.#sink;
    body.#sink = undefined;
    sink?.fail(error);
  }
}

function onSourceData(this: Source, chunk: Buffer): void {
  const body = this[kBody];
  // The chunk is ours alone when ours is the only 'data' listener: the stream keeps no
  // reference once it emitted, and Node's parser gave it a buffer of its own. Then the
  // client may free it once written (an application's own listener keeps chunks intact).
  if (body !== undefined) RequestBody.data(body, chunk, this.listenerCount('data') === 1);
}

function onSourceEnd(this: Source): void {
  const body = this[kBody];
  if (body !== undefined) RequestBody.end(body);
}

function onSourceError(this: Source, error: Error): void {
  const body = this[kBody];
  if (body !== undefined) RequestBody.failed(body, error);
}

function onSourceClose(this: Source): void {
  // Closed before its end: the client went away mid-body.
  const body = this[kBody];
  if (body !== undefined && !this.complete)
    RequestBody.failed(body, new Error('client closed the request body'));
}
