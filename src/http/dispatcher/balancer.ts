/**
 * What every request of one balanced dispatcher (or interceptor) shares: the pool, the
 * retry policy and the way a try reaches an endpoint — through switchyard's own
 * connection pool per endpoint, or through the dispatcher an interceptor was composed
 * with. Also the controller handed to the caller, which stays the same across tries.
 * @internal
 */

import type { Dispatcher } from 'undici';
import type { PoolEndpoint, PoolLike } from '../../pool/types.js';
import type { EndpointSchemes } from '../shared/endpoint-scheme.js';
import type { RetryPolicy } from '../shared/retry-policy.js';
import type { TryTarget } from '../shared/try-loop.js';
import type { Upstreams } from '../shared/upstreams.js';
import type { DispatchKey, ResolvedBalancerOptions } from './dispatcher-options.js';

type Controller = Dispatcher.DispatchController;
type RawHeaders = Buffer[] | string[] | Record<string, string | string[] | undefined> | null;
type Handler = Dispatcher.DispatchHandler;

/** Where a try goes, for the interceptor form: cached per endpoint. */
interface Target {
  readonly url: string;
  readonly origin: string;
  readonly basePath: string;
}

/** @internal */
export class Balancer implements TryTarget {
  readonly pool: PoolLike;
  readonly policy: RetryPolicy;
  readonly key: DispatchKey | undefined;
  readonly now: () => number;
  readonly #headersMs: number | undefined;
  readonly #idleMs: number | undefined;
  readonly #upstreams: Upstreams | undefined;
  readonly #dispatch: Dispatcher.Dispatch | undefined;
  readonly #targets = new WeakMap<PoolEndpoint, Target>();
  /** Ids of endpoints the dispatcher cannot speak to (they arrived after it was created). */
  readonly unsupported: ReadonlySet<string>;
  /** Set by the dispatcher's close: requests in flight finish, but retry no more. */
  closed = false;
  #active = 0;
  #idle: (() => void) | undefined;
  #idlePromise: Promise<void> | undefined;

  constructor(
    pool: PoolLike,
    options: ResolvedBalancerOptions,
    via: Upstreams | Dispatcher.Dispatch,
    schemes: EndpointSchemes,
  ) {
    this.pool = pool;
    this.unsupported = schemes.unsupported;
    this.policy = options.policy;
    this.key = options.key;
    this.now = options.now;
    this.#headersMs = options.headersMs;
    this.#idleMs = options.idleMs;
    if (typeof via === 'function') this.#dispatch = via;
    else this.#upstreams = via;
  }

  /** A request started. */
  begin(): void {
    this.#active++;
  }

  /** A request ended (its last callback was delivered). */
  end(): void {
    if (--this.#active === 0 && this.#idle !== undefined) {
      const idle = this.#idle;
      this.#idle = this.#idlePromise = undefined;
      idle();
    }
  }

  /** Resolves once no request is in progress. */
  whenIdle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    this.#idlePromise ??= new Promise((resolve) => {
      this.#idle = resolve;
    });
    return this.#idlePromise;
  }

  /**
   * Sends one try to `endpoint`: `opts` is this try's own copy of the request options,
   * `path` the request's path and query, to which the endpoint URL's path is prefixed.
   * A synchronous throw is the try loop's to report.
   */
  send(
    endpoint: PoolEndpoint,
    opts: Dispatcher.DispatchOptions,
    path: string,
    handler: Handler,
  ): void {
    const upstreams = this.#upstreams;
    if (upstreams !== undefined) {
      const upstream = upstreams.get(endpoint);
      opts.path = upstream.basePath === '' ? path : upstream.basePath + path;
      upstream.dispatcher.dispatch(opts, handler);
      return;
    }
    const target = this.#target(endpoint);
    opts.origin = target.origin;
    opts.path = target.basePath === '' ? path : target.basePath + path;
    if (this.#headersMs !== undefined && opts.headersTimeout == null) {
      opts.headersTimeout = this.#headersMs;
    }
    if (this.#idleMs !== undefined && opts.bodyTimeout == null) opts.bodyTimeout = this.#idleMs;
    this.#dispatch!(opts, handler);
  }

  #target(endpoint: PoolEndpoint): Target {
    let target = this.#targets.get(endpoint);
    if (target === undefined || target.url !== endpoint.url) {
      const parsed = endpoint.parsedUrl;
      const path = parsed.pathname;
      target = {
        url: endpoint.url,
        origin: parsed.origin,
        basePath: path === '/' ? '' : path.endsWith('/') ? path.slice(0, -1) : path,
      };
      this.#targets.set(endpoint, target);
    }
    return target;
  }
}

/** What a {@link BalancedController} reports a caller's abort to. */
export interface AbortSink {
  callerAbort(reason: Error): void;
}

/**
 * The controller the caller's handler gets: one for the whole request, forwarding to the
 * controller of the try in progress (as undici's `RetryHandler` does), so that a pause,
 * a resume or an abort always reaches the live connection.
 * @internal
 */
export class BalancedController implements Controller {
  readonly #sink: AbortSink;
  #target: Controller | null = null;
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;

  constructor(sink: AbortSink) {
    this.#sink = sink;
  }

  /** The controller of the try in progress. */
  set target(target: Controller | null) {
    this.#target = target;
    if (this.#paused) target?.pause();
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

  /** The raw response headers of the try in progress (undici's `fetch` reads them). */
  get rawHeaders(): RawHeaders {
    return this.#target?.rawHeaders ?? null;
  }

  set rawHeaders(value: RawHeaders) {
    if (this.#target !== null) this.#target.rawHeaders = value;
  }

  /** The raw response trailers of the try in progress. */
  get rawTrailers(): RawHeaders {
    return this.#target?.rawTrailers ?? null;
  }

  set rawTrailers(value: RawHeaders) {
    if (this.#target !== null) this.#target.rawTrailers = value;
  }

  pause(): void {
    this.#paused = true;
    this.#target?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#target?.resume();
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#sink.callerAbort(reason);
  }
}
