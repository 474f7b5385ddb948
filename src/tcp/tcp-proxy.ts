import { createServer, Server } from 'node:net';
import { assertPool } from '../pool/assert-pool.js';
import type { PoolLike } from '../pool/types.js';
import { TcpProxyEngine } from './tcp-proxy-engine.js';
import {
  resolveDrainMs,
  resolveTcpProxyOptions,
  type TcpProxyCloseOptions,
  type TcpProxyOptions,
} from './tcp-proxy-options.js';

/** What the TCP proxy's server has instead of `net.Server`'s `close()`. */
export interface TcpProxyLifecycle {
  /**
   * Stops accepting connections, lets the open ones go on for up to `drainMs`, then resets
   * those still open (both sides). Resolves once every connection, upstream socket and
   * lease is gone; the pool is left open (its owner closes it). Idempotent: a later call
   * returns the same promise, and can only shorten the drain.
   * @throws TypeError or RangeError for bad options, naming the option and quoting the value.
   * @example
   * ```ts
   * process.once('SIGTERM', () => void server.close({ drainMs: 10_000 }));
   * ```
   */
  close(options?: TcpProxyCloseOptions): Promise<void>;
  /** Same as `close()` with the default drain, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The TCP proxy: a `net.Server` (listen on it, read its address, count its connections)
 * whose `close()` drains and returns a promise ({@link TcpProxyLifecycle.close}).
 *
 * @example
 * ```ts
 * const server = createTcpProxy(pool);
 * server.listen(7000, '127.0.0.1');
 * await server.close({ drainMs: 5_000 });
 * ```
 */
export type TcpProxyServer = Omit<Server, 'close' | typeof Symbol.asyncDispose> & TcpProxyLifecycle;

/**
 * An L4 (TCP) load balancer over a pool: each client connection goes to an endpoint the
 * pool picks, and the bytes are piped both ways as they are.
 *
 * - **Failover**: only a connection that never reached an upstream (refused, unreachable,
 *   connect timeout) moves on, each attempt to an endpoint not tried yet, at most
 *   `attempts`. Client bytes are not read until an upstream is connected (the kernel holds
 *   them, so a client cannot make the proxy buffer), and once connected the connection is
 *   the client's: it is never moved.
 * - **Streams**: backpressure both ways; half-close kept (a FIN reaches the other side as a
 *   FIN); a reset or error on one side resets the other; `idleTimeoutMs` without a byte
 *   either way closes both.
 * - **Pool**: the lease is held for the connection's life, so `inflight` counts open
 *   connections and `LeastConnections` balances them. It is released as a failure only when
 *   connecting failed; otherwise as a success whose latency sample is the connect time.
 * - **Endpoints**: `tcp://host:port`, or an `http://` URL's host and port (80 by default).
 *   Another scheme or a missing port is refused here with an `UnsupportedEndpointError`
 *   naming the endpoint (credentials redacted); one that joins the pool later is never
 *   used, and is reported on `switchyard:tcp:unsupported-endpoint`.
 * - **PROXY protocol** v1 or v2 to the upstream (`proxyProtocol`), as HAProxy specifies it.
 * - **Observability**: `node:diagnostics_channel` events `switchyard:tcp:connect`,
 *   `switchyard:tcp:failover`, `switchyard:tcp:close` and
 *   `switchyard:tcp:unsupported-endpoint` (see {@link tcpChannels}).
 *
 * The server is made with `allowHalfOpen`, `pauseOnConnect` and `noDelay`; listen on it as
 * on any `net.Server`.
 *
 * @param pool - the pool that picks endpoints: a `Pool`, or any `PoolLike`; the proxy never
 *   closes it
 * @param options - see {@link TcpProxyOptions}
 * @returns a `net.Server` whose `close()` drains (see {@link TcpProxyLifecycle.close})
 * @throws TypeError or RangeError for a bad option (naming it and quoting the value) or a
 *   value that is not a pool; UnsupportedEndpointError (`ERR_UNSUPPORTED_ENDPOINT`) for an
 *   endpoint the proxy cannot connect to.
 * @example
 * ```ts
 * import { LeastConnections, Pool } from 'switchyard';
 * import { createTcpProxy } from 'switchyard/tcp';
 *
 * const pool = new Pool({
 *   endpoints: ['tcp://127.0.0.1:5432', 'tcp://127.0.0.1:5433'],
 *   selector: new LeastConnections(),
 * });
 * const server = createTcpProxy(pool, { connectTimeoutMs: 1_000, proxyProtocol: 'v2' });
 * server.listen(6432, '127.0.0.1');
 * // on shutdown:
 * await server.close({ drainMs: 10_000 });
 * await pool.close();
 * ```
 */
export function createTcpProxy(pool: PoolLike, options?: TcpProxyOptions): TcpProxyServer {
  assertPool(pool, 'createTcpProxy');
  const engine = new TcpProxyEngine(pool, resolveTcpProxyOptions(options));
  const server = createServer(
    { allowHalfOpen: true, pauseOnConnect: true, noDelay: true },
    (socket) => engine.accept(socket),
  );
  let closing: Promise<void> | undefined;
  const close = (closeOptions?: TcpProxyCloseOptions | ((error?: Error) => void)) => {
    // `server.close(callback)`, as code written for a plain net.Server calls it.
    const callback = typeof closeOptions === 'function' ? closeOptions : undefined;
    const drainMs = resolveDrainMs(callback === undefined ? closeOptions : undefined);
    const drained = engine.drain(drainMs);
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => {
        if (server.listening) Server.prototype.close.call(server, () => resolve());
        else resolve();
      });
      await drained;
      await stopped;
      engine.dispose();
    })();
    if (callback !== undefined) closing.then(() => callback(), callback);
    return closing;
  };
  return Object.assign(server, {
    close,
    [Symbol.asyncDispose]: () => close(),
  }) as unknown as TcpProxyServer;
}
