import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Disposable } from '../events.js';
import { AdminToken } from './admin-token.js';
import { EventStreams } from './event-streams.js';
import { collectMetrics, renderPrometheus } from './metrics.js';
import {
  type DashboardOptions,
  DEFAULT_STATE_HISTORY,
  type ResolvedDashboardOptions,
  resolveDashboardOptions,
} from './options.js';
import { DASHBOARD_ASSETS, DASHBOARD_CSP } from './page/assets.js';
import { takeDashboardSnapshot } from './snapshot.js';

/** Longest request target answered; a longer one gets 414. */
const MAX_URL_LENGTH = 8_192;
const ADMIN_ACTIONS = new Set(['drain', 'enable', 'disable']);
const READ = 'GET, HEAD';

/** Calls the next middleware (Express/Connect); the dashboard calls it with no argument. */
export type NextFunction = (error?: unknown) => void;

/**
 * The dashboard: a request handler for Node's `http` server, Express or Connect (as
 * middleware, under any mount path) and Fastify (see the dashboard guide), with a
 * lifecycle. Routes, relative to where it is mounted:
 *
 * | route | answers |
 * | --- | --- |
 * | `GET /` | the page (its assets under `/assets/`) |
 * | `GET /api/snapshot` | {@link DashboardSnapshot} as JSON |
 * | `GET /api/events` | server-sent events: `snapshot` each second, `state` per change |
 * | `GET /metrics` | Prometheus text format 0.0.4 |
 * | `POST /api/pools/:pool/endpoints/:id/{drain,enable,disable}` | 204 with the admin token |
 *
 * `HEAD` is answered wherever `GET` is; another method on a known route gets 405 with
 * `Allow`. Other paths go to `next()` when there is one, else 404.
 */
export interface Dashboard {
  /** Answers one request (see above). */
  (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void;
  /** True after {@link Dashboard.close}. */
  readonly closed: boolean;
  /**
   * Ends every open event stream, stops the timers and unsubscribes from the pools; a
   * later `/api/events` request is answered 503 (the other routes still answer). Idempotent. The pools and monitors are the caller's: they
   * are not closed.
   */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates the dashboard of SPEC §7 over one or more pools: the live page, the JSON
 * snapshot, the event stream, the Prometheus metrics and, with `admin`, the drain, disable
 * and enable actions.
 *
 * The figures come from the pools (`pool.snapshot()`, `pool.latencyHistogram()`), which
 * record them as they serve; the dashboard adds no work per request. It takes one snapshot
 * per `snapshotIntervalMs` while event streams are open, shared by all of them.
 * @param options - see {@link DashboardOptions}
 * @throws TypeError or RangeError for a bad option, naming it.
 * @example
 * ```ts
 * import http from 'node:http';
 * import { createDashboard } from 'switchyard/dashboard';
 *
 * const dashboard = createDashboard({
 *   pools: { app: pool },
 *   monitors: [monitor],
 *   admin: { token: process.env.SWITCHYARD_ADMIN_TOKEN! },
 * });
 * http.createServer(dashboard).listen(9900, '127.0.0.1');
 * // Express: app.use('/lb', dashboard);
 * ```
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const o = resolveDashboardOptions(options);
  const admin = o.token === undefined ? undefined : new AdminToken(o.token);
  let cache: { json: string; at: number } | undefined;
  const snapshotJson = (): string => {
    const at = o.now();
    // One snapshot per interval, whoever asks: streams, page loads and API clients share it.
    if (cache === undefined || !(at - cache.at < o.snapshotIntervalMs / 2) || at < cache.at) {
      cache = { json: JSON.stringify(takeDashboardSnapshot(o.pools, o.monitors, at)), at };
    }
    return cache.json;
  };
  const streams = new EventStreams({
    snapshotJson,
    snapshotIntervalMs: o.snapshotIntervalMs,
    heartbeatMs: o.heartbeatMs,
    maxEventStreams: o.maxEventStreams,
    history: DEFAULT_STATE_HISTORY,
  });
  const subscriptions: Disposable[] = [];
  for (const [name, pool] of o.pools) {
    subscriptions.push(
      pool.onStateChange(({ endpoint, from, to, reason }) => {
        cache = undefined;
        streams.state({
          time: o.now(),
          pool: name,
          id: endpoint.id,
          from: from ?? null,
          to: to ?? null,
          reason,
        });
      }),
    );
  }
  let closed = false;

  const handler = (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void => {
    try {
      route(req, res, next);
    } catch (error) {
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy(error as Error);
    }
  };

  const route = (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void => {
    const url = req.url ?? '/';
    if (url.length > MAX_URL_LENGTH) {
      if (next !== undefined) {
        next();
        return;
      }
      send(res, 414, 'URI too long\n');
      return;
    }
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';
    const head = method === 'HEAD';

    if (path === '/' && read && redirectBareMount(req, res)) return;
    const asset = DASHBOARD_ASSETS.get(path);
    if (asset !== undefined) {
      if (!read) {
        notAllowed(res, READ);
        return;
      }
      sendAsset(req, res, path, asset.contentType, asset.body, head);
      return;
    }
    if (path === '/api/snapshot' || path === '/metrics' || path === '/api/events') {
      if (!read) {
        notAllowed(res, READ);
        return;
      }
      if (path === '/api/snapshot') {
        send(res, 200, snapshotJson(), 'application/json; charset=utf-8', head);
        return;
      }
      if (path === '/metrics') {
        const text = renderPrometheus(collectMetrics(o.pools, o.monitors));
        send(res, 200, text, 'text/plain; version=0.0.4; charset=utf-8', head);
        return;
      }
      if (head) {
        send(res, 200, '', 'text/event-stream; charset=utf-8', true);
        return;
      }
      streams.open(req, res);
      return;
    }
    const parts = path.split('/');
    // ['', 'api', 'pools', pool, 'endpoints', id, action]
    if (
      parts.length === 7 &&
      parts[1] === 'api' &&
      parts[2] === 'pools' &&
      parts[4] === 'endpoints' &&
      ADMIN_ACTIONS.has(parts[6]!)
    ) {
      if (admin === undefined) {
        send(res, 404, 'not found\n');
        return;
      }
      if (method !== 'POST') {
        notAllowed(res, 'POST');
        return;
      }
      req.resume(); // a body, if any, is not read: let it drain
      if (!admin.accepts(req.headers.authorization)) {
        res.setHeader('www-authenticate', 'Bearer realm="switchyard"');
        send(res, 401, 'unauthorized\n');
        return;
      }
      act(res, parts[3]!, parts[5]!, parts[6] as 'drain' | 'enable' | 'disable', o);
      return;
    }
    if (next !== undefined) {
      next();
      return;
    }
    send(res, 404, 'not found\n');
  };

  const close = (): Promise<void> => {
    if (!closed) {
      closed = true;
      for (const subscription of subscriptions) subscription.dispose();
      streams.close();
    }
    return Promise.resolve();
  };

  return Object.defineProperties(handler, {
    closed: { get: () => closed, enumerable: true },
    close: { value: close, enumerable: true },
    [Symbol.asyncDispose]: { value: close },
  }) as Dashboard;
}

/** Runs an admin action: 204, or 400/404/409. */
function act(
  res: ServerResponse,
  rawPool: string,
  rawId: string,
  action: 'drain' | 'enable' | 'disable',
  o: ResolvedDashboardOptions,
): void {
  let name: string;
  let id: string;
  try {
    name = decodeURIComponent(rawPool);
    id = decodeURIComponent(rawId);
  } catch {
    send(res, 400, 'malformed percent-encoding\n');
    return;
  }
  const pool = o.pools.get(name);
  if (pool === undefined || pool.get(id) === undefined) {
    send(res, 404, 'not found\n');
    return;
  }
  if (pool.closed) {
    send(res, 409, 'pool closed\n');
    return;
  }
  pool[action](id);
  res.writeHead(204, { 'cache-control': 'no-store' });
  res.end();
}

/**
 * Express and Connect strip the mount path: `/lb` arrives as `/`, like `/lb/`. The page's
 * relative URLs (`./assets/…`) need the trailing slash, so the bare mount is redirected
 * to it. The `Location` is relative (`./lb/`), so it can never lead to another origin.
 */
function redirectBareMount(req: IncomingMessage, res: ServerResponse): boolean {
  const original = (req as { originalUrl?: unknown }).originalUrl;
  if (typeof original !== 'string') return false;
  const query = original.indexOf('?');
  const path = query < 0 ? original : original.slice(0, query);
  if (path.endsWith('/')) return false;
  const last = path.slice(path.lastIndexOf('/') + 1);
  res.writeHead(308, {
    location: `./${last}/${query < 0 ? '' : original.slice(query)}`,
    'cache-control': 'no-store',
    'content-length': '0',
  });
  res.end();
  return true;
}

const etags = new Map<string, string>();

function sendAsset(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  contentType: string,
  body: string,
  head: boolean,
): void {
  let etag = etags.get(path);
  if (etag === undefined) {
    etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    etags.set(path, etag);
  }
  // Revalidated on every load (cheap with the ETag), so an upgrade shows at once.
  res.setHeader('etag', etag);
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('content-security-policy', DASHBOARD_CSP);
  const match = req.headers['if-none-match'];
  if (match?.split(',').some((t) => t.trim() === etag)) {
    res.setHeader('x-content-type-options', 'nosniff');
    res.writeHead(304);
    res.end();
    return;
  }
  send(res, 200, body, contentType, head, 'no-cache');
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  send(res, 405, 'method not allowed\n');
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
  head = false,
  cacheControl = 'no-store',
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': cacheControl,
    'x-content-type-options': 'nosniff',
  });
  res.end(head ? undefined : body);
}
