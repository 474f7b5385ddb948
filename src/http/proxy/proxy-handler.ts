import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BadRequestError } from '../../errors.js';
import { assertPool } from '../../pool/assert-pool.js';
import type { PoolLike } from '../../pool/types.js';
import { sendErrorAnswer } from './answers.js';
import { ProxyEngine } from './proxy-engine.js';
import { ProxyExchange } from './proxy-exchange.js';
import { type ProxyOptions, resolveProxyOptions } from './proxy-options.js';
import { endAndLinger } from './tunnel.js';
import { proxyUpgrade, upgradeAllowed } from './upgrade-exchange.js';

/**
 * A reverse-proxy request handler: a plain `(req, res)` Node handler that also works as
 * Express/Connect middleware, plus `upgrade` for WebSocket upgrades.
 */
export interface ProxyHandler {
  /**
   * Forwards one request to an endpoint of the pool and streams the response back. As
   * middleware it ends the request itself: `next` is never called — failures get the
   * proxy's own answer (or `onError`'s).
   */
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /**
   * Forwards an HTTP upgrade (WebSocket) through the same pool, affinity and target rules;
   * for the server's `'upgrade'` event: `server.on('upgrade', proxy.upgrade)`. Only the
   * protocols in `upgrade.protocols` are tunnelled (another is answered as an ordinary
   * request); a tunnel holds its lease until it closes, and ends after
   * `timeouts.tunnelIdleMs` of silence both ways.
   */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /**
   * Stops forwarding (new requests get 503, `PoolClosedError`) and closes the connections
   * to the endpoints: gracefully (requests in flight finish, WebSocket tunnels stay until
   * they end or idle out), or at once with `{ force: true }` (requests in flight are
   * aborted and tunnels ended). Idempotent.
   */
  close(options?: { readonly force?: boolean }): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates a reverse proxy over `pool`: each request goes to the endpoint the pool picks,
 * through a keep-alive undici connection pool per endpoint, with bodies streamed both ways
 * under backpressure.
 *
 * Failover follows NGINX's `proxy_next_upstream`: a request that never reached an
 * endpoint (connection refused or timed out) is retried on another one whatever its
 * method; idempotent requests (and those with an `Idempotency-Key`) also after a reset,
 * a headers timeout or a status in `retry.statuses`; never once response bytes reached
 * the client. Retries are capped by a retry budget. The proxy answers 503 when no
 * endpoint is eligible, 502 when every try failed, 504 on a timeout and 400 for a request
 * that cannot be forwarded as it stands (a path climbing above the root with dot segments
 * in any encoding, a header value the upstream client refuses); client faults count
 * against no endpoint. Untrusted clients' forwarding headers (`X-Forwarded-*` in either
 * spelling, `Forwarded`, `X-Real-IP`, `X-Client-IP`, `True-Client-IP`) are removed.
 *
 * @param pool - the pool that chooses endpoints: a `Pool`, or any `PoolLike`
 * @param options - see {@link ProxyOptions}
 * @throws TypeError or RangeError for a bad option, naming it and quoting the value;
 *   `UnsupportedEndpointError` for an endpoint of the pool whose scheme is not http: or
 *   https: (one that joins later is never picked, and is reported on the
 *   `switchyard:http:unsupported-endpoint` diagnostics channel).
 * @example
 * ```ts
 * import http from 'node:http';
 * import { Pool } from 'switchyard';
 * import { createProxyHandler } from 'switchyard/http';
 *
 * const pool = new Pool({ endpoints: ['http://127.0.0.1:8081', 'http://127.0.0.1:8082'] });
 * const proxy = createProxyHandler(pool, { retry: { attempts: 3 }, affinity: { cookie: 'sy' } });
 * http.createServer(proxy).on('upgrade', proxy.upgrade).listen(8080);
 * // Express: app.use('/api', proxy);
 * ```
 */
export function createProxyHandler(pool: PoolLike, options?: ProxyOptions): ProxyHandler {
  assertPool(pool, 'createProxyHandler');
  const engine = new ProxyEngine(pool, resolveProxyOptions(options));
  let closing: Promise<void> | undefined;
  const handler = ((req: IncomingMessage, res: ServerResponse): void => {
    try {
      new ProxyExchange(engine, req, res).start();
    } catch (error) {
      // Unreachable by design; still, a handler must never throw.
      sendErrorAnswer(req, res, error);
    }
  }) as ProxyHandler & { upgrade: ProxyHandler['upgrade'] };
  const close = (closeOptions?: { readonly force?: boolean }): Promise<void> => {
    closing ??= engine.close(closeOptions?.force === true);
    return closing;
  };
  Object.defineProperties(handler, {
    upgrade: {
      value: (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (upgradeAllowed(req.headers.upgrade, engine.upgradeProtocols)) {
          proxyUpgrade(engine, req, socket, head);
        } else answerPlainly(engine, req, socket);
      },
      enumerable: true,
    },
    close: { value: close, enumerable: true },
    [Symbol.asyncDispose]: { value: () => close() },
  });
  return handler;
}

/**
 * An upgrade to a protocol not in `upgrade.protocols`: forwarded as an ordinary request,
 * without the upgrade (the header pass drops `Upgrade` and `Connection`), answered on the
 * socket, which is then closed. A body is refused: Node reads none for an upgrade request.
 */
function answerPlainly(engine: ProxyEngine, req: IncomingMessage, socket: Duplex): void {
  try {
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => {
      res.detachSocket(socket as Socket);
      endAndLinger(socket, undefined);
    });
    socket.on('error', noop);
    const length = req.headers['content-length'];
    if (
      (length !== undefined && length !== '0') ||
      req.headers['transfer-encoding'] !== undefined
    ) {
      sendErrorAnswer(req, res, new BadRequestError('an upgrade request with a body'));
      return;
    }
    new ProxyExchange(engine, req, res).start();
  } catch {
    socket.destroy();
  }
}

function noop(): void {}
