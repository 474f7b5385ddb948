/**
 * switchyard's proxy inside a Fastify 5 app, through a plugin small enough to copy:
 * `switchyardProxy` below is the whole integration (the integration tests import it).
 *
 * - Its handler hijacks the reply (Fastify sends nothing, the proxy writes to `reply.raw`),
 *   so every hook before the handler (`onRequest`, `preParsing`, `preValidation`,
 *   `preHandler`: authentication, rate limits) still runs on proxied requests.
 * - Inside the plugin (Fastify encapsulates it) the content-type parsers are replaced by
 *   one that reads nothing: the body stays in `request.raw` and streams to the endpoint as
 *   it arrives, whatever its type or size (Fastify's `bodyLimit` does not apply). Routes
 *   outside the plugin keep Fastify's parsers.
 * - The prefix is stripped, as Express strips a mount path: `/api/users` reaches the
 *   endpoint as `/users`. Give the endpoint URL a path (`http://10.0.0.1:8080/api`) to put
 *   it back.
 *
 * The demo: two backends listen on 127.0.0.1 and answer with what they received; the app
 * serves `/health` and `/local` itself and proxies everything under `/api`. It sends a
 * few requests, prints what came back, closes everything and exits.
 *
 * Run: npm run build && node examples/fastify.ts
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Pool, RoundRobin } from 'switchyard';
import { createProxyHandler, type ProxyHandler } from 'switchyard/http';

/** Options of {@link switchyardProxy}, next to Fastify's own `prefix`. */
export interface SwitchyardProxyOptions {
  /** The proxy that forwards the requests: `createProxyHandler(pool, …)`. */
  readonly proxy: ProxyHandler;
}

/**
 * A Fastify plugin: a catch-all route (every method Fastify routes) under the plugin's
 * prefix, forwarding through `proxy`.
 * @example
 * ```ts
 * const proxy = createProxyHandler(pool);
 * await app.register(switchyardProxy, { proxy, prefix: '/api' });
 * app.server.on('upgrade', proxy.upgrade); // WebSocket upgrades, if you proxy them
 * ```
 */
export function switchyardProxy(
  instance: FastifyInstance,
  options: SwitchyardProxyOptions,
  done: (error?: Error) => void,
): void {
  const { proxy } = options;
  const prefix = instance.prefix;
  instance.removeAllContentTypeParsers();
  // Leaves the body unread: the proxy streams it from request.raw.
  instance.addContentTypeParser('*', (_request, _payload, parsed) => parsed(null));
  const forward = (request: FastifyRequest, reply: FastifyReply): void => {
    const raw = request.raw as typeof request.raw & { originalUrl?: string };
    const url = raw.url ?? '/';
    // As Express does: request.originalUrl keeps the full URL.
    raw.originalUrl ??= url;
    raw.url = stripPrefix(url, prefix);
    reply.hijack();
    proxy(raw, reply.raw);
  };
  instance.all('/', forward);
  instance.all('/*', forward);
  done();
}

/** `/api/users?x` → `/users?x`; `/api` and `/api?x` → `/` and `/?x`. */
function stripPrefix(url: string, prefix: string): string {
  if (prefix === '' || !url.startsWith(prefix)) return url;
  const rest = url.slice(prefix.length);
  if (rest === '' || rest.charCodeAt(0) === 63 /* ? */) return `/${rest}`;
  return rest.charCodeAt(0) === 47 /* / */ ? rest : url;
}

/** A backend answering with its name, the method and path, and the body (or its size). */
async function backend(name: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const shown =
        body.length === 0 ? '' : body.length <= 64 ? ` ${body}` : ` (${body.length} bytes)`;
      res.setHeader('content-type', 'text/plain');
      res.end(`${name} got ${req.method} ${req.url}${shown}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function urlOf(server: http.Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function main(): Promise<void> {
  const backends = [await backend('a'), await backend('b')];
  const pool = new Pool({
    endpoints: backends.map(urlOf),
    // In order, from the first endpoint: the output is the same on every run.
    selector: new RoundRobin({ random: () => 0 }),
  });
  const proxy = createProxyHandler(pool, { retry: { attempts: 2 } });

  const app = Fastify();
  app.get('/health', async () => ({ ok: true }));
  app.post('/local', async (request) => ({ parsed: request.body }));
  await app.register(switchyardProxy, { proxy, prefix: '/api' });
  app.server.on('upgrade', proxy.upgrade); // WebSocket upgrades go through the same pool
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = urlOf(app.server);

  console.log(`backends: a ${urlOf(backends[0]!)}, b ${urlOf(backends[1]!)}`);
  const json = { 'content-type': 'application/json' };
  const binary = { 'content-type': 'application/octet-stream' };
  const requests: [method: string, path: string, init?: RequestInit, label?: string][] = [
    ['GET', '/health'],
    ['GET', '/api/users?page=2'],
    ['GET', '/api'],
    ['POST', '/api/orders', { body: '{"item":"book"}', headers: json }],
    // Past Fastify's 1 MiB bodyLimit: streamed, never held whole.
    ['POST', '/api/upload', { body: new Uint8Array(2 * 1024 * 1024), headers: binary }, '2 MiB'],
    ['POST', '/local', { body: '{"item":"book"}', headers: json }],
  ];
  for (const [method, path, init, label] of requests) {
    const response = await fetch(base + path, { method, ...init });
    const text = await response.text();
    console.log(`${method} ${path}${label ? ` (${label})` : ''} -> ${response.status} ${text}`);
  }

  await app.close();
  await proxy.close();
  await pool.close();
  for (const b of backends) b.close();
  console.log('done');
}

// Run as a program (`node examples/fastify.ts`), not when imported for the plugin.
if (import.meta.main) await main();
