/**
 * One client connection through the TCP proxy: connect failover, then two pipes, and the
 * lease held until the upstream socket closes.
 * @internal
 */

import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { UpstreamTimeoutError, UpstreamUnavailableError } from '../errors.js';
import type { AcquireOptions, Lease, PoolEndpoint } from '../pool/types.js';
import { resetSocket as reset } from '../socket-reset.js';
import type { DeadlineOwner } from './connect-deadlines.js';
import { type TcpCloseReason, tcpChannels } from './diagnostics.js';
import type { IdleWatched } from './idle-sweep.js';
import { proxyHeader } from './proxy-protocol.js';
import type { TcpProxyEngine } from './tcp-proxy-engine.js';
import { clientAddress } from './tcp-target.js';

function reasonOf(error: unknown): string {
  if (error instanceof UpstreamTimeoutError) return 'timeout';
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

/** The connection a socket belongs to: listeners are shared, not closures per socket. */
const kConnection = Symbol('switchyard.tcp.connection');
type Owned = Socket & { [kConnection]: TcpConnection };

let onClientError: (this: Owned, error: Error) => void;
let onClientClose: (this: Owned) => void;
let onUpstreamConnect: (this: Owned) => void;
let onUpstreamError: (this: Owned, error: Error) => void;
let onUpstreamClose: (this: Owned) => void;

/** @internal */
export class TcpConnection implements DeadlineOwner<Socket>, IdleWatched {
  static {
    // One set of listener functions for every socket (`this` is the socket): a connection
    // allocates no closures. Defined here, where they can reach the private members.
    onClientError = function (error) {
      this[kConnection].#failed(error);
    };
    onClientClose = function () {
      this[kConnection].#clientClosedNow();
    };
    onUpstreamConnect = function () {
      this[kConnection].#onConnect(this);
    };
    onUpstreamError = function (error) {
      const connection = this[kConnection];
      if (connection.#upstream !== this) return;
      if (connection.#connected) connection.#failed(error);
      else connection.#connectFailed(this, error);
    };
    onUpstreamClose = function () {
      const connection = this[kConnection];
      if (connection.#upstream !== this) return;
      connection.#cancelDeadline();
      connection.#releaseLease();
      connection.#maybeDone();
    };
  }

  readonly #proxy: TcpProxyEngine;
  readonly #client: Socket;
  readonly #startedAt = performance.now();
  /** For the proxy's idle sweep. @internal */
  lastActivity = 0;
  /** For the proxy's idle sweep. @internal */
  quietSince = this.#startedAt;
  #upstream: Socket | undefined;
  #lease: Lease | undefined;
  #endpoint: PoolEndpoint | undefined;
  /** Ids tried (and those the proxy cannot reach), once a second attempt is needed. */
  #tried: Set<string> | undefined;
  #attempt = 0;
  #connected = false;
  #connectMs = 0;
  #clientClosed = false;
  #reason: TcpCloseReason = 'end';
  #error: unknown;
  #lastError: unknown;
  /** Where the current attempt connects, for the timeout's message. */
  #host = '';
  #port = 0;
  /** The current attempt's slot in the proxy's connect deadlines, or -1. */
  #deadline = -1;

  constructor(proxy: TcpProxyEngine, client: Socket) {
    this.#proxy = proxy;
    this.#client = client;
    (client as Owned)[kConnection] = this;
    client.on('error', onClientError);
    client.on('close', onClientClose);
  }

  #clientClosedNow(): void {
    this.#clientClosed = true;
    // Gone while connecting (idle timeout, drain): the attempt ends with it.
    if (this.#upstream !== undefined && !this.#connected) this.#upstream.destroy();
    this.#maybeDone();
  }

  /** Picks an endpoint and connects; on failure, the next one, while attempts remain. */
  connect(): void {
    const proxy = this.#proxy;
    const pool = proxy.pool;
    const key = proxy.options.affinity ? clientAddress(this.#client.remoteAddress) : undefined;
    let lease: Lease | undefined;
    for (;;) {
      const exclude = this.#tried ?? (proxy.unusable.size > 0 ? proxy.unusable : undefined);
      const options: AcquireOptions | undefined =
        key === undefined && exclude === undefined
          ? undefined
          : exclude === undefined
            ? { key: key! }
            : key === undefined
              ? { exclude }
              : { key, exclude };
      if (this.#attempt === 0) {
        try {
          lease = pool.acquire(options);
        } catch (error) {
          this.#end('no-endpoint', error);
          return;
        }
      } else {
        lease = pool.tryAcquire(options);
        if (lease === undefined) {
          this.#end(
            'connect-failed',
            new UpstreamUnavailableError(
              `no endpoint accepted the connection after ${this.#attempt} attempt(s)`,
              { cause: this.#lastError, attempts: this.#attempt },
            ),
          );
          return;
        }
      }
      const target = proxy.target(lease.endpoint);
      if (target.error === undefined) {
        this.#open(lease, target.host, target.port);
        return;
      }
      // An endpoint that arrived with a scheme the proxy cannot speak: a try that could
      // not start. It is never picked again, and does not use up an attempt — unless the
      // selector hands it out although it was excluded (then the connection gives up).
      const again = proxy.unusable.has(lease.endpoint.id);
      proxy.reject(lease.endpoint, target.error);
      lease.release({ ok: false, error: target.error, skipLatency: true });
      if (again) {
        this.#end('connect-failed', target.error);
        return;
      }
      this.#tried?.add(lease.endpoint.id);
    }
  }

  #open(lease: Lease, host: string, port: number): void {
    this.#attempt++;
    this.#lease = lease;
    this.#endpoint = lease.endpoint;
    const connectMs = this.#proxy.options.connectTimeoutMs;
    const upstream = connect({ host, port, allowHalfOpen: true, noDelay: true }) as Owned;
    upstream[kConnection] = this;
    this.#upstream = upstream;
    if (connectMs > 0) {
      this.#host = host;
      this.#port = port;
      this.#deadline = this.#proxy.deadlines.add(this, upstream);
    }
    upstream.on('connect', onUpstreamConnect);
    upstream.on('error', onUpstreamError);
    upstream.on('close', onUpstreamClose);
  }

  #cancelDeadline(): void {
    if (this.#deadline < 0) return;
    this.#proxy.deadlines.cancel(this.#deadline);
    this.#deadline = -1;
  }

  /** The connect deadline of an attempt passed: called by the proxy's deadline queue. */
  connectTimedOut(upstream: Socket): void {
    if (this.#upstream !== upstream || this.#connected) return;
    this.#deadline = -1;
    const host = this.#host;
    this.#connectFailed(
      upstream,
      new UpstreamTimeoutError(
        `connecting to ${host.includes(':') ? `[${host}]` : host}:${this.#port} timed out after ${this.#proxy.options.connectTimeoutMs} ms`,
        { attempts: this.#attempt },
      ),
    );
  }

  #onConnect(upstream: Socket): void {
    if (this.#upstream !== upstream) return;
    const client = this.#client;
    if (client.destroyed) {
      // The client went (idle, drain) while this connect was completing.
      upstream.destroy();
      return;
    }
    this.#connected = true;
    this.#cancelDeadline();
    this.#connectMs = this.#lease!.elapsedMs();
    const version = this.#proxy.options.proxyProtocol;
    if (version !== false) upstream.write(proxyHeader(version, client)!);
    // Backpressure both ways: pipe pauses a side while the other's write buffer is full.
    // A FIN ends the other side's writable only (allowHalfOpen), so half-close carries over.
    client.pipe(upstream);
    upstream.pipe(client);
    if (tcpChannels.connect.hasSubscribers) {
      tcpChannels.connect.publish({
        socket: client,
        upstream,
        endpoint: this.#endpoint,
        attempts: this.#attempt,
        connectMs: this.#connectMs,
      });
    }
  }

  #connectFailed(upstream: Socket, error: unknown): void {
    this.#cancelDeadline();
    upstream.destroy();
    this.#upstream = undefined;
    const lease = this.#lease!;
    this.#lease = undefined;
    // A refusal comes back at once: its time says nothing of the endpoint's speed. A timeout
    // is sampled (as the time it took), so latency-aware selectors move away from it.
    lease.release({ ok: false, error, skipLatency: !(error instanceof UpstreamTimeoutError) });
    this.#lastError = error;
    if (this.#clientClosed || this.#client.destroyed) {
      this.#maybeDone();
      return;
    }
    const endpoint = lease.endpoint;
    if (this.#attempt >= this.#proxy.options.attempts) {
      this.#end(
        'connect-failed',
        new UpstreamUnavailableError(
          `no endpoint accepted the connection after ${this.#attempt} attempt(s)`,
          { cause: error, attempts: this.#attempt },
        ),
      );
      return;
    }
    this.#tried ??= new Set(this.#proxy.unusable);
    this.#tried.add(endpoint.id);
    if (tcpChannels.failover.hasSubscribers) {
      tcpChannels.failover.publish({
        socket: this.#client,
        endpoint,
        attempt: this.#attempt,
        reason: reasonOf(error),
        error,
      });
    }
    this.connect();
  }

  /** A side failed or was reset after connecting: the other side is reset too. */
  #failed(error: unknown): void {
    if (this.#reason === 'end') {
      this.#reason = 'reset';
      this.#error = error;
    }
    reset(this.#client);
    if (this.#upstream !== undefined) reset(this.#upstream);
  }

  /** Bytes moved both ways: the client socket sees every byte, read from it or written to it. */
  activity(): number {
    const client = this.#client;
    return client.bytesRead + (client.bytesWritten ?? 0);
  }

  /** Nothing moved for `idleTimeoutMs`: both sides are closed. */
  idle(): void {
    this.abort('idle');
  }

  /** Ends the connection from the proxy's side: idle (closed), drain (reset). */
  abort(reason: 'idle' | 'drain'): void {
    if (this.#reason === 'end') this.#reason = reason;
    if (reason === 'idle') {
      this.#client.destroy();
      this.#upstream?.destroy();
    } else {
      reset(this.#client);
      if (this.#upstream !== undefined) reset(this.#upstream);
    }
  }

  /** No upstream for this client: it is reset. */
  #end(reason: TcpCloseReason, error: unknown): void {
    this.#reason = reason;
    this.#error = error;
    reset(this.#client);
    this.#maybeDone();
  }

  #releaseLease(): void {
    const lease = this.#lease;
    if (lease === undefined) return;
    this.#lease = undefined;
    // Connected: the connection is the client's, whatever happens to it later, so the
    // endpoint is not blamed. The latency sample is the connect time: a connection's
    // duration is the client's business and says nothing about the endpoint.
    lease.release(
      this.#connected ? { ok: true, latencyMs: this.#connectMs } : { ok: true, skipLatency: true },
    );
  }

  #maybeDone(): void {
    if (!this.#clientClosed) return;
    const upstream = this.#upstream;
    if (upstream !== undefined && !upstream.closed) return;
    this.#releaseLease();
    if (!this.#proxy.forget(this)) return;
    if (tcpChannels.close.hasSubscribers) {
      const client = this.#client;
      tcpChannels.close.publish({
        socket: client,
        endpoint: this.#endpoint,
        reason: this.#reason,
        error: this.#error,
        durationMs: performance.now() - this.#startedAt,
        bytesIn: client.bytesRead,
        bytesOut: client.bytesWritten,
      });
    }
  }
}
