/**
 * switchyard/fastify: the proxy as a Fastify plugin, for Fastify ≥ 5 (an optional peer
 * dependency, as is `switchyard/http`'s undici, which this entry builds on).
 *
 * `switchyardProxy` registers a catch-all route under its `prefix` that forwards through
 * `createProxyHandler` from `switchyard/http`. Fastify's hooks run as on any route —
 * `onRequest` … `preHandler` before the request is forwarded, `onSend` (compression with
 * `@fastify/compress`) and `onResponse` on the proxied response — and `bodyLimit` holds,
 * counted as the body streams to the endpoint, never by buffering it.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { Pool } from 'switchyard';
 * import { switchyardProxy } from 'switchyard/fastify';
 *
 * const pool = new Pool({ endpoints: ['http://127.0.0.1:8081', 'http://127.0.0.1:8082'] });
 * const app = Fastify();
 * app.get('/health', async () => ({ ok: true }));
 * await app.register(switchyardProxy, { pool, prefix: '/api', websocket: true });
 * await app.listen({ port: 8080 });
 * ```
 * @module
 */
// First: on a Node.js too old for undici, fail here with one clear line.
export { MIN_NODE_VERSION } from '../node-guard.js';

export {
  type FastifyProxyErrorHandler,
  type SwitchyardFastifyOptions,
  type SwitchyardHandlerOptions,
  type SwitchyardPoolOptions,
  type SwitchyardProxyOptions,
  switchyardProxy,
} from './plugin.js';
