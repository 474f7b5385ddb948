/**
 * What the balanced dispatcher needs to know about an outgoing request before its first
 * try: whether its headers carry an `Idempotency-Key` or a `Content-Length`, and whether
 * its body can be sent twice.
 * @internal
 */

/** Facts read from the request headers (written into the caller's object). */
export interface DispatchHeadFacts {
  /** An `Idempotency-Key` header was present. */
  idempotencyKey: boolean;
  /** `Content-Length` (the first one), or -1. */
  contentLength: number;
}

/**
 * Reads {@link DispatchHeadFacts} from undici's header forms: a plain object, a flat
 * `[name, value, …]` array, an array of `[name, value]` pairs, or any iterable of pairs
 * (`Headers`, `Map`).
 */
export function readHeadFacts(headers: unknown, facts: DispatchHeadFacts): void {
  if (headers === null || typeof headers !== 'object') return;
  if (Array.isArray(headers)) {
    if (Array.isArray(headers[0])) {
      for (const pair of headers as unknown[][]) note(pair[0], pair[1], facts);
    } else {
      for (let i = 0; i < headers.length; i += 2) note(headers[i], headers[i + 1], facts);
    }
    return;
  }
  // A plain object is a record even if something polluted Object.prototype with an iterator.
  const proto: unknown = Object.getPrototypeOf(headers);
  if (
    proto !== Object.prototype &&
    proto !== null &&
    typeof (headers as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function'
  ) {
    for (const pair of headers as Iterable<unknown[]>) note(pair[0], pair[1], facts);
    return;
  }
  const record = headers as Record<string, unknown>;
  for (const name in record) {
    if (Object.hasOwn(record, name)) note(name, record[name], facts);
  }
}

function note(name: unknown, value: unknown, facts: DispatchHeadFacts): void {
  if (typeof name !== 'string' || value === undefined || value === null) return;
  // Only two names matter; compare lengths first so most headers cost one check.
  if (name.length === 15) {
    if (name.toLowerCase() === 'idempotency-key') facts.idempotencyKey = true;
  } else if (name.length === 14 && facts.contentLength === -1) {
    if (name.toLowerCase() === 'content-length') {
      const first = Array.isArray(value) ? value[0] : value;
      const length = Number(first);
      if (Number.isSafeInteger(length) && length >= 0) facts.contentLength = length;
    }
  }
}

/** A body undici can send again as is: none, bytes, a string, a `Blob` or a `FormData`. */
export const BODY_REPLAYABLE = 0;
/** A body read once: a `Readable`, an async iterable (what `fetch` passes), an iterable. */
export const BODY_STREAM = 1;
/** Something else: handed to undici, which refuses it. */
export const BODY_OTHER = 2;

/** Sorts a request body into {@link BODY_REPLAYABLE}, {@link BODY_STREAM} or {@link BODY_OTHER}. */
export function bodyKind(body: unknown): number {
  if (body === null || body === undefined || typeof body === 'string') return BODY_REPLAYABLE;
  if (typeof body !== 'object') return BODY_OTHER;
  if (ArrayBuffer.isView(body) || body instanceof ArrayBuffer) return BODY_REPLAYABLE;
  // undici encodes a FormData and reads a Blob afresh for every request it writes.
  const tag = (body as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  if (tag === 'FormData' || tag === 'Blob' || tag === 'File') return BODY_REPLAYABLE;
  if (
    typeof (body as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function' ||
    typeof (body as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function'
  ) {
    return BODY_STREAM;
  }
  return BODY_OTHER;
}

/** A pull-based iterator over a stream body, sync or async. */
export type ChunkIterator = AsyncIterator<unknown> | Iterator<unknown>;

/** The iterator of a {@link BODY_STREAM} body (a `Readable`'s is async). */
export function iteratorOf(body: object): ChunkIterator {
  const asyncIterate = (body as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator];
  if (typeof asyncIterate === 'function') return asyncIterate.call(body);
  return (body as Iterable<unknown>)[Symbol.iterator]();
}

/** One body chunk as a Buffer (a view, never a copy, for byte arrays). */
export function toChunk(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value);
  if (ArrayBuffer.isView(value))
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  throw new TypeError(
    `request body chunks must be strings, Buffers or Uint8Arrays, got ${typeof value}`,
  );
}

/**
 * The rest of a body too large to buffer: the chunks already read, then the source. An
 * async iterable, as undici reads it. `started` tells whether undici began reading (after
 * which the body can no longer be sent again); until then another try may use it.
 */
export class StreamedBody implements AsyncIterableIterator<Buffer> {
  /** True once undici asked for the first chunk. */
  started = false;
  #prefix: Buffer[] | undefined;
  #index = 0;
  readonly #source: ChunkIterator;

  constructor(source: ChunkIterator, prefix: Buffer[] | undefined) {
    this.#source = source;
    this.#prefix = prefix;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Buffer>> {
    this.started = true;
    const prefix = this.#prefix;
    if (prefix !== undefined) {
      if (this.#index < prefix.length) return { done: false, value: prefix[this.#index++]! };
      this.#prefix = undefined;
    }
    const step = await this.#source.next();
    return step.done === true
      ? { done: true, value: undefined }
      : { done: false, value: toChunk(step.value) };
  }

  /** Stops reading: the source is told to let go (a `Readable` is destroyed). */
  async return(): Promise<IteratorResult<Buffer>> {
    this.#prefix = undefined;
    await this.#source.return?.();
    return { done: true, value: undefined };
  }
}
