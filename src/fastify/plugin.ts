import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
// Through the package's own entry, not '../http/…': the Fastify build stays a thin layer
// over the one `switchyard/http` the application also imports.
import { createProxyHandler, type ProxyHandler, type ProxyOptions } from 'switchyard/http';
import type { PoolLike } from '../pool/types.js';
import { checkBoolean, checkFunction, checkNumber, quote } from '../validate.js';
import { countBody } from './body-limit.js';
import { ReplyStream } from './reply-stream.js';

/**
 * Answers a request the proxy could not forward, Fastify's way: `reply.code(…).send(…)`
 * (the reply has not been sent yet). If it throws or rejects, the proxy's own answer is
 * sent. The errors are those of {@link ProxyOptions.onError}.
 */
export type FastifyProxyErrorHandler = (
  error: Error,
  request: FastifyRequest,
  reply: FastifyReply,
) => void | Promise<void>;

/** Options of the plugin itself, next to the proxy's and Fastify's own `prefix`. */
export interface SwitchyardFastifyOptions {
  /**
   * Largest request body forwarded, in bytes, counted as it streams (never buffered for
   * counting): a `Content-Length` above it is answered 413 before anything is forwarded,
   * a streamed body that grows past it is cut off (the upstream request aborted) and
   * answered 413 — Fastify's `FST_ERR_CTP_BODY_TOO_LARGE`, through its error handler.
   * @default the Fastify instance's `bodyLimit` (1 MiB unless set)
   */
  readonly bodyLimit?: number;
  /**
   * Also forward HTTP upgrades (WebSocket) whose path is under the prefix: the plugin
   * listens to the server's `'upgrade'` event and strips the prefix as it does for
   * requests. Leave it off when another plugin owns `'upgrade'`.
   * @default false
   */
  readonly websocket?: boolean;
  /** Custom error answers through the Fastify reply; see {@link FastifyProxyErrorHandler}. */
  readonly onError?: FastifyProxyErrorHandler;
  /** Fastify's own: the path the proxy is mounted at, stripped before forwarding. */
  readonly prefix?: string;
}

/**
 * {@link switchyardProxy} over a pool: the plugin creates the proxy with these options
 * (those of `createProxyHandler`, with a Fastify-style `onError`) and closes it when the
 * app closes.
 */
export interface SwitchyardPoolOptions
  extends SwitchyardFastifyOptions,
    Omit<ProxyOptions, 'onError'> {
  /** The pool whose endpoints serve the requests. */
  readonly pool: PoolLike;
  /** Not with `pool`. */
  readonly proxy?: undefined;
}

/** {@link switchyardProxy} over a proxy made by `createProxyHandler` (yours to close). */
export interface SwitchyardHandlerOptions extends Omit<SwitchyardFastifyOptions, 'onError'> {
  /** The proxy that forwards the requests; its own options (`onError` too) apply. */
  readonly proxy: ProxyHandler;
  /** Not with `proxy`. */
  readonly pool?: undefined;
}

/** Options of {@link switchyardProxy}: a `pool` and proxy options, or a ready-made `proxy`. */
export type SwitchyardProxyOptions = SwitchyardPoolOptions | SwitchyardHandlerOptions;

/** Register options Fastify itself reads; not proxy options. */
const FASTIFY_KEYS = ['prefix', 'logLevel', 'logSerializers'];
const PLUGIN_KEYS = ['pool', 'proxy', 'bodyLimit', 'websocket', 'onError'];

/**
 * The Fastify plugin: a catch-all route under the plugin's `prefix` that forwards every
 * request through switchyard's proxy (`createProxyHandler` from `switchyard/http`).
 *
 * - Every hook before the handler runs as on any route (`onRequest`, `preParsing`,
 *   `preValidation`, `preHandler`: authentication, rate limits); one that answers stops
 *   the request before it is forwarded.
 * - The response goes out through `reply.send()`, so `onSend` hooks and compression
 *   (`@fastify/compress`) apply to proxied responses, and `onResponse` hooks and the
 *   request log see them.
 * - Bodies are never parsed or buffered whole: inside the plugin a content-type parser
 *   that reads nothing leaves the body to stream to the endpoint. `bodyLimit` still holds,
 *   counted as the body streams (413 past it).
 * - The prefix is stripped (`/api/users` reaches the endpoint as `/users`), as Express
 *   strips a mount path; `request.raw.originalUrl` keeps the full URL.
 *
 * The plugin stays encapsulated (it is not wrapped in `fastify-plugin`): its content-type
 * parser and its `prefix` belong to it, and routes outside it keep Fastify's parsers.
 *
 * @throws TypeError or RangeError at registration for a bad option, naming it.
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import compress from '@fastify/compress';
 * import { Pool } from 'switchyard';
 * import { switchyardProxy } from 'switchyard/fastify';
 *
 * const pool = new Pool({ endpoints: ['http://127.0.0.1:8081', 'http://127.0.0.1:8082'] });
 * const app = Fastify();
 * await app.register(compress);
 * await app.register(switchyardProxy, { pool, prefix: '/api', retry: { attempts: 3 } });
 * await app.listen({ port: 8080 });
 * ```
 */
export const switchyardProxy: FastifyPluginCallback<SwitchyardProxyOptions> = (
  instance,
  options,
  done,
) => {
  let setup: Setup;
  try {
    setup = resolve(options);
  } catch (error) {
    done(error as Error);
    return;
  }
  const { proxy, owned, bodyLimit, upgrade } = setup;
  const prefix = instance.prefix;
  instance.removeAllContentTypeParsers();
  // Leaves the body unread: the proxy streams it from request.raw.
  instance.addContentTypeParser('*', (_request, _payload, parsed) => parsed(null));
  const forward = (request: FastifyRequest, reply: FastifyReply): void => {
    const raw = request.raw as IncomingMessage & { originalUrl?: string };
    const url = raw.url ?? '/';
    // As Express does: request.originalUrl keeps the full URL.
    raw.originalUrl ??= url;
    raw.url = stripPrefix(url, prefix);
    const res = new ReplyStream(reply);
    if (!countBody(request, reply, res)) return;
    // The client went away, or Fastify answered without this stream (an onSend hook
    // replaced it): the proxy then aborts the upstream request.
    reply.raw.once('close', () => {
      if (!res.writableFinished) res.destroy();
    });
    proxy(raw, res as never);
  };
  const route = bodyLimit === undefined ? {} : { bodyLimit };
  instance.all('/', route, forward);
  instance.all('/*', route, forward);
  if (upgrade) {
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      const url = req.url ?? '/';
      const stripped = stripPrefix(url, prefix);
      if (prefix !== '' && stripped === url) return; // not ours
      req.url = stripped;
      proxy.upgrade(req, socket, head);
    };
    instance.server.on('upgrade', onUpgrade);
    instance.addHook('onClose', (_instance, next) => {
      instance.server.off('upgrade', onUpgrade);
      next();
    });
  }
  if (owned) instance.addHook('onClose', () => proxy.close());
  done();
};

// fastify-plugin's conventions, without the dependency and without `skip-override`: the
// plugin must stay encapsulated (its parser and prefix are its own).
Object.defineProperties(switchyardProxy, {
  [Symbol.for('fastify.display-name')]: { value: 'switchyard' },
  [Symbol.for('plugin-meta')]: { value: { name: 'switchyard', fastify: '5.x' } },
});

interface Setup {
  readonly proxy: ProxyHandler;
  readonly owned: boolean;
  readonly bodyLimit: number | undefined;
  readonly upgrade: boolean;
}

function resolve(options: SwitchyardProxyOptions): Setup {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`switchyardProxy options must be an object, got ${quote(options)}`);
  }
  const o = options as unknown as Record<string, unknown>;
  const bodyLimit =
    o.bodyLimit === undefined
      ? undefined
      : checkNumber('bodyLimit', o.bodyLimit, { min: 0, integer: true });
  const upgrade = checkBoolean('websocket', o.websocket ?? false);
  const onError =
    o.onError === undefined
      ? undefined
      : checkFunction<FastifyProxyErrorHandler>('onError', o.onError);
  if (o.proxy !== undefined) {
    if (o.pool !== undefined) {
      throw new TypeError('switchyardProxy takes a pool or a proxy, not both');
    }
    const upgradeOf = (o.proxy as { readonly upgrade?: unknown }).upgrade;
    if (typeof o.proxy !== 'function' || typeof upgradeOf !== 'function') {
      throw new TypeError(
        `proxy must be a handler made by createProxyHandler, got ${quote(o.proxy)}`,
      );
    }
    const extra = Object.keys(o).filter(
      (key) => !PLUGIN_KEYS.includes(key) && !FASTIFY_KEYS.includes(key),
    );
    if (extra.length > 0) {
      throw new TypeError(
        `switchyardProxy got the proxy option ${quote(extra[0])} with a ready-made proxy; give it to createProxyHandler`,
      );
    }
    if (onError !== undefined) {
      throw new TypeError('onError belongs to createProxyHandler when a ready-made proxy is given');
    }
    return { proxy: o.proxy as ProxyHandler, owned: false, bodyLimit, upgrade };
  }
  if (o.pool === undefined) {
    throw new TypeError('switchyardProxy needs a pool (or a proxy made by createProxyHandler)');
  }
  const proxyOptions: Record<string, unknown> = {};
  for (const key of Object.keys(o)) {
    if (!PLUGIN_KEYS.includes(key) && !FASTIFY_KEYS.includes(key)) proxyOptions[key] = o[key];
  }
  if (onError !== undefined) {
    proxyOptions.onError = (error: Error, _req: IncomingMessage, res: ReplyStream) =>
      onError(error, res.reply.request, res.reply);
  }
  const proxy = createProxyHandler(o.pool as PoolLike, proxyOptions as ProxyOptions);
  return { proxy, owned: true, bodyLimit, upgrade };
}

/** `/api/users?x` → `/users?x`; `/api` and `/api?x` → `/` and `/?x`. @internal */
export function stripPrefix(url: string, prefix: string): string {
  if (prefix === '' || !url.startsWith(prefix)) return url;
  const rest = url.slice(prefix.length);
  if (rest === '' || rest.charCodeAt(0) === 63 /* ? */) return `/${rest}`;
  return rest.charCodeAt(0) === 47 /* / */ ? rest : url;
}
