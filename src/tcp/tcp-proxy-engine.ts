/**
 * What every connection of one TCP proxy shares: the pool, the options, the endpoints'
 * targets, the open connections and the drain.
 * @internal
 */

import type { Socket } from 'node:net';
import type { UnsupportedEndpointError } from '../errors.js';
import type { Disposable } from '../events.js';
import type { MembershipChangeEvent, PoolEndpoint, PoolLike } from '../pool/types.js';
import { ConnectDeadlines } from './connect-deadlines.js';
import { tcpChannels } from './diagnostics.js';
import { IdleSweep } from './idle-sweep.js';
import { TcpConnection } from './tcp-connection.js';
import type { ResolvedTcpProxyOptions } from './tcp-proxy-options.js';
import { resolveTcpTarget, type TcpTarget } from './tcp-target.js';

/** What the proxy uses of a pool. */
export type TcpProxyPool = Pick<
  PoolLike,
  'endpoints' | 'acquire' | 'tryAcquire' | 'onMembershipChange'
>;

/** @internal */
export class TcpProxyEngine {
  readonly pool: TcpProxyPool;
  readonly options: ResolvedTcpProxyOptions;
  /** Connect timeouts of every attempt, on one timer. */
  readonly deadlines: ConnectDeadlines<Socket>;
  readonly #idle: IdleSweep<TcpConnection>;
  /** Ids of endpoints the proxy cannot connect to (wrong scheme, no port): always excluded. */
  readonly unusable = new Set<string>();
  readonly #targets = new WeakMap<PoolEndpoint, TcpTarget>();
  readonly #connections = new Set<TcpConnection>();
  readonly #reported = new Set<string>();
  readonly #subscription: Disposable;
  #drained: (() => void) | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #deadlineAt = Number.POSITIVE_INFINITY;

  /** @throws UnsupportedEndpointError naming the first endpoint the proxy cannot connect to. */
  constructor(pool: TcpProxyPool, options: ResolvedTcpProxyOptions) {
    this.pool = pool;
    this.options = options;
    this.deadlines = new ConnectDeadlines(options.connectTimeoutMs);
    this.#idle = new IdleSweep(options.idleTimeoutMs, this.#connections);
    for (const endpoint of pool.endpoints) {
      const target = this.target(endpoint);
      if (target.error !== undefined) throw target.error;
    }
    this.#subscription = pool.onMembershipChange((event) => this.#membershipChanged(event));
  }

  /** Open client connections. */
  get size(): number {
    return this.#connections.size;
  }

  /** A client connected. */
  accept(socket: Socket): void {
    const connection = new TcpConnection(this, socket);
    this.#connections.add(connection);
    if (this.#connections.size === 1) this.#idle.start();
    connection.connect();
  }

  /** A connection ended; false when it had already been forgotten. */
  forget(connection: TcpConnection): boolean {
    if (!this.#connections.delete(connection)) return false;
    if (this.#connections.size === 0) this.#idle.stop();
    if (this.#connections.size === 0 && this.#drained !== undefined) this.#settle();
    return true;
  }

  /** The host and port for an endpoint, resolved once per endpoint (and URL). */
  target(endpoint: PoolEndpoint): TcpTarget {
    let target = this.#targets.get(endpoint);
    if (target === undefined || target.url !== endpoint.url) {
      target = resolveTcpTarget(endpoint);
      this.#targets.set(endpoint, target);
    }
    return target;
  }

  /**
   * Excludes an endpoint the proxy cannot connect to from every later pick, and reports it
   * (once per id and URL) on `switchyard:tcp:unsupported-endpoint`.
   */
  reject(endpoint: PoolEndpoint, error: UnsupportedEndpointError): void {
    this.unusable.add(endpoint.id);
    const key = `${endpoint.id}\n${endpoint.url}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    if (tcpChannels.unsupportedEndpoint.hasSubscribers) {
      tcpChannels.unsupportedEndpoint.publish({ endpoint, error });
    }
  }

  #membershipChanged(event: MembershipChangeEvent): void {
    for (const endpoint of event.removed) this.unusable.delete(endpoint.id);
    for (const endpoint of event.added) {
      const target = this.target(endpoint);
      if (target.error !== undefined) this.reject(endpoint, target.error);
    }
    // An endpoint whose URL was corrected in place (setEndpoints, same id) is usable again.
    if (this.unusable.size > 0) {
      for (const endpoint of this.pool.endpoints) {
        if (this.unusable.has(endpoint.id) && this.target(endpoint).error === undefined) {
          this.unusable.delete(endpoint.id);
        }
      }
    }
  }

  /**
   * Waits for the open connections to end, resetting those still open after `drainMs`
   * (at once for 0; never for Infinity). A second call can only bring the deadline closer.
   */
  drain(drainMs: number): Promise<void> {
    const done =
      this.#connections.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const previous = this.#drained;
            this.#drained = () => {
              previous?.();
              resolve();
            };
          });
    if (this.#connections.size > 0) this.#setDeadline(drainMs);
    return done;
  }

  #setDeadline(drainMs: number): void {
    if (drainMs === Number.POSITIVE_INFINITY) return;
    const at = performance.now() + drainMs;
    if (at >= this.#deadlineAt) return;
    this.#deadlineAt = at;
    clearTimeout(this.#deadline);
    if (drainMs === 0) {
      this.#abortAll();
      return;
    }
    this.#deadline = setTimeout(() => this.#abortAll(), drainMs);
    this.#deadline.unref();
  }

  #abortAll(): void {
    this.#deadline = undefined;
    for (const connection of [...this.#connections]) connection.abort('drain');
  }

  #settle(): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    const drained = this.#drained;
    this.#drained = undefined;
    drained?.();
  }

  /** Stops listening to the pool. Idempotent. */
  dispose(): void {
    this.#subscription.dispose();
    this.deadlines.clear();
    this.#idle.stop();
  }
}
