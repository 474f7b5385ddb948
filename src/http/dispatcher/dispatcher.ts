/**
 * Client-side balancing: an undici `Dispatcher` (and an interceptor for
 * `dispatcher.compose`) that sends a service's own outbound `fetch`/`request` calls to the
 * endpoints of a pool, with the proxy's failover rules.
 * @internal
 */

import { EventEmitter } from 'node:events';
import type { Dispatcher } from 'undici';
import { assertPool } from '../../pool/assert-pool.js';
import type { PoolLike } from '../../pool/types.js';
import { EndpointSchemes } from '../shared/endpoint-scheme.js';
import { undici } from '../shared/undici.js';
import { Upstreams } from '../shared/upstreams.js';
import { BalancedExchange } from './balanced-exchange.js';
import { Balancer } from './balancer.js';
import {
  type BalancedDispatcherOptions,
  type BalancedInterceptorOptions,
  resolveDispatcherOptions,
  resolveInterceptorOptions,
} from './dispatcher-options.js';

type Handler = Dispatcher.DispatchHandler;

/**
 * undici's `Dispatcher` to the type checker; `EventEmitter` (which undici's `Dispatcher`
 * extends, with no constructor of its own) until the first {@link BalancedDispatcher} is
 * made. undici is loaded on first use (see ../shared/undici.ts), so the class cannot name
 * undici's at module load: {@link linkUndici} puts undici's `Dispatcher` under it then,
 * before the first instance exists. From there on every instance is an
 * `instanceof Dispatcher` and has undici's `request`, `stream`, `pipeline`, `compose`….
 */
const UndiciDispatcher = EventEmitter as unknown as typeof Dispatcher;

let linked = false;

/** Puts undici's `Dispatcher` under {@link BalancedDispatcher}, once; returns nothing for `super()`. */
function linkUndici(): undefined {
  if (linked) return;
  const base = undici().Dispatcher;
  Object.setPrototypeOf(BalancedDispatcher.prototype, base.prototype);
  Object.setPrototypeOf(BalancedDispatcher, base);
  linked = true;
}

/**
 * An undici `Dispatcher` over a pool: each request goes to the endpoint the pool picks,
 * whatever origin its URL names. Made by {@link createBalancedDispatcher}.
 */
export class BalancedDispatcher extends UndiciDispatcher {
  readonly #balancer: Balancer;
  readonly #upstreams: Upstreams;
  readonly #schemes: EndpointSchemes;
  #closing: Promise<void> | undefined;
  #destroying: Promise<void> | undefined;

  /**
   * Prefer {@link createBalancedDispatcher}.
   * @throws TypeError or RangeError for a bad pool or option, naming it and quoting the value.
   */
  constructor(pool: PoolLike, options?: BalancedDispatcherOptions) {
    // undici's Dispatcher goes under this class before super() runs: super() is then its constructor.
    super(linkUndici());
    assertPool(pool, 'createBalancedDispatcher');
    const resolved = resolveDispatcherOptions(options);
    this.#schemes = new EndpointSchemes('createBalancedDispatcher', pool, resolved.logger);
    this.#upstreams = new Upstreams(pool, {
      connectMs: resolved.connectMs,
      headersMs: resolved.poolHeadersMs,
      idleMs: resolved.poolIdleMs,
      connections: resolved.connections,
      keepAliveTimeoutMs: resolved.keepAliveTimeoutMs,
      connect: resolved.connect,
      allowH2: resolved.allowH2,
      dispatcherFactory: resolved.dispatcherFactory,
    });
    this.#balancer = new Balancer(pool, resolved, this.#upstreams, this.#schemes);
  }

  /**
   * Sends a request to an endpoint of the pool (undici's low-level API; `fetch`,
   * `request`, `stream` and `pipeline` call it). After `close()` the handler gets
   * undici's `ClientClosedError` (`ClientDestroyedError` after `destroy()`).
   * @returns always `true`: the dispatcher never asks its caller to wait for `'drain'`.
   */
  override dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const balancer = this.#balancer;
    if (balancer.closed) {
      const h = asHandler(handler);
      const error =
        this.#destroying !== undefined
          ? new (undici().errors.ClientDestroyedError)()
          : new (undici().errors.ClientClosedError)();
      h.onResponseError?.(null as unknown as Dispatcher.DispatchController, error);
      return false;
    }
    return run(balancer, opts, handler);
  }

  /** True once `close()` or `destroy()` was called. */
  get closed(): boolean {
    return this.#balancer.closed;
  }

  /** True once `destroy()` was called. */
  get destroyed(): boolean {
    return this.#destroying !== undefined;
  }

  /**
   * Stops taking requests, lets those in flight finish (without further retries), then
   * closes the connections to every endpoint. Idempotent.
   */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.#balancer.closed = true;
    this.#schemes.dispose();
    this.#closing ??= this.#balancer.whenIdle().then(() => this.#upstreams.close(false));
    if (callback === undefined) return this.#closing;
    this.#closing.then(callback, callback);
  }

  /**
   * Stops taking requests and aborts those in flight (they fail with undici's
   * `ClientDestroyedError` as cause), closing every connection at once. Idempotent.
   */
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null): Promise<void>;
  override destroy(): Promise<void>;
  override destroy(
    errOrCallback?: Error | null | (() => void),
    callback?: () => void,
  ): Promise<void> | void {
    const done = typeof errOrCallback === 'function' ? errOrCallback : callback;
    this.#balancer.closed = true;
    this.#schemes.dispose();
    this.#destroying ??= this.#upstreams.close(true);
    if (done === undefined) return this.#destroying;
    this.#destroying.then(done, done);
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Creates an undici `Dispatcher` that balances a service's outbound HTTP calls over
 * `pool`, with the failover rules of the proxy (NGINX's `proxy_next_upstream`): a request
 * that never reached an endpoint (connection refused or timed out) is retried on another
 * one whatever its method; idempotent requests (and those with an `Idempotency-Key`) also
 * after a reset, a headers timeout or a status in `retry.statuses`; never once the
 * response started reaching the caller. Retries go to endpoints not tried yet and are
 * capped by a retry budget.
 *
 * The origin of the request URL only names the service: the scheme, host and port of the
 * picked endpoint replace it, its path and query are kept, and the endpoint URL's own path
 * (if any) is prefixed. `Host` is the endpoint's host, as undici sends it, unless the
 * request sets one itself. Each endpoint gets a keep-alive undici connection pool, closed
 * when the endpoint leaves the pool.
 *
 * When every try failed the caller gets an `UpstreamUnavailableError`
 * (`ERR_UPSTREAM_UNAVAILABLE`) or `UpstreamTimeoutError` (`ERR_UPSTREAM_TIMEOUT`) with the
 * last try's undici error as `cause`; when no endpoint is eligible, `NoEndpointError`
 * (`ERR_NO_ENDPOINT`). `fetch` wraps them: match on `error.cause.code`. A last try that got
 * a response (a 503 on the last endpoint left, say) returns that response.
 *
 * @param pool - the pool that chooses endpoints: a `Pool`, or any `PoolLike`
 * @param options - see {@link BalancedDispatcherOptions}
 * @throws TypeError or RangeError for a bad pool or option, naming it and quoting the value;
 *   `UnsupportedEndpointError` for an endpoint whose scheme is not http: or https:.
 * @example
 * ```ts
 * import { Pool } from 'switchyard';
 * import { createBalancedDispatcher } from 'switchyard/http';
 * import { fetch, request } from 'undici';
 *
 * const pool = new Pool({ endpoints: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'] });
 * const users = createBalancedDispatcher(pool, { retry: { attempts: 3 } });
 * const res = await fetch('http://users.internal/v1/users/42', { dispatcher: users });
 * const { body } = await request('http://users.internal/v1/users', { dispatcher: users });
 * await users.close();
 * ```
 */
export function createBalancedDispatcher(
  pool: PoolLike,
  options?: BalancedDispatcherOptions,
): BalancedDispatcher {
  return new BalancedDispatcher(pool, options);
}

/**
 * The balancing of {@link createBalancedDispatcher} as an undici interceptor, for
 * `dispatcher.compose`: each request's origin is replaced by the picked endpoint's before
 * the composed dispatcher (an `Agent`, usually) sends it, and failed tries are retried by
 * the same rules. The composed dispatcher owns the connections, so its settings apply
 * (connect timeout, TLS, HTTP/2); `timeouts` here are per request.
 *
 * @param pool - the pool that chooses endpoints: a `Pool`, or any `PoolLike`
 * @param options - see {@link BalancedInterceptorOptions}
 * @throws TypeError or RangeError for a bad pool or option, naming it and quoting the value.
 * @example
 * ```ts
 * import { Agent, interceptors, request } from 'undici';
 * import { balancedInterceptor } from 'switchyard/http';
 *
 * const dispatcher = new Agent({ connect: { timeout: 2_000 } }).compose(
 *   balancedInterceptor(pool, { retry: { attempts: 3 } }),
 *   interceptors.decompress(),
 * );
 * const { statusCode } = await request('http://users.internal/health', { dispatcher });
 * ```
 */
export function balancedInterceptor(
  pool: PoolLike,
  options?: BalancedInterceptorOptions,
): Dispatcher.DispatcherComposeInterceptor {
  assertPool(pool, 'balancedInterceptor');
  const resolved = resolveInterceptorOptions(options);
  // Follows the pool's membership for as long as the pool lives.
  const schemes = new EndpointSchemes('balancedInterceptor', pool, resolved.logger);
  return (dispatch) => {
    const balancer = new Balancer(pool, resolved, dispatch, schemes);
    return function balancedDispatch(opts: Dispatcher.DispatchOptions, handler: Handler) {
      return run(balancer, opts, handler);
    };
  };
}

function run(balancer: Balancer, opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
  const h = asHandler(handler);
  if (opts === null || typeof opts !== 'object') {
    h.onResponseError?.(
      null as unknown as Dispatcher.DispatchController,
      new (undici().errors.InvalidArgumentError)('opts must be an object.'),
    );
    return false;
  }
  new BalancedExchange(balancer, opts, h).start();
  return true;
}

/** The handler in undici 8's form; a legacy one (`onConnect`, `onHeaders`, … as Node's own `fetch` passes) is wrapped. */
function asHandler(handler: Handler): Handler {
  if (handler === null || typeof handler !== 'object') {
    throw new (undici().errors.InvalidArgumentError)('handler must be an object');
  }
  if (typeof handler.onRequestStart === 'function') return handler;
  return (
    undici().Dispatcher1Wrapper as unknown as {
      wrapHandler(h: object): Handler;
    }
  ).wrapHandler(handler);
}
