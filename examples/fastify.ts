/**
 * switchyard's proxy inside a Fastify 5 app, through the `switchyard/fastify` plugin.
 *
 * - Every hook before the handler (`onRequest`, `preParsing`, `preValidation`,
 *   `preHandler`: authentication, rate limits) runs on proxied requests, and the response
 *   goes out through `reply.send()`: `onSend` hooks and compression apply to it.
 * - Inside the plugin bodies are not parsed: they stream to the endpoint as they arrive,
 *   and `bodyLimit` is counted as they do (413 past it). Routes outside the plugin keep
 *   Fastify's parsers.
 * - The prefix is stripped, as Express strips a mount path: `/api/users` reaches the
 *   endpoint as `/users`.
 *
 * The demo: two backends listen on 127.0.0.1 and answer with what they received; the app
 * serves `/health` and `/local` itself and proxies everything under `/api`. It sends a
 * few requests, prints what came back, closes everything and exits.
 *
 * Run (in a clone, after `npm ci`): npm run example examples/fastify.ts
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { Pool, RoundRobin } from 'switchyard';
import { switchyardProxy } from 'switchyard/fastify';

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
  const app = Fastify();
  app.get('/health', async () => ({ ok: true }));
  app.post('/local', async (request) => ({ parsed: request.body }));
  // The plugin makes the proxy (and closes it with the app); `websocket` also forwards
  // WebSocket upgrades under the prefix.
  await app.register(switchyardProxy, {
    pool,
    prefix: '/api',
    retry: { attempts: 2 },
    bodyLimit: 4 * 1024 * 1024,
    websocket: true,
  });
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
    // Under the plugin's 4 MiB bodyLimit: streamed, never held whole.
    ['POST', '/api/upload', { body: new Uint8Array(2 * 1024 * 1024), headers: binary }, '2 MiB'],
    // Over it: Fastify's 413, nothing forwarded.
    ['POST', '/api/upload', { body: new Uint8Array(5 * 1024 * 1024), headers: binary }, '5 MiB'],
    ['POST', '/local', { body: '{"item":"book"}', headers: json }],
  ];
  for (const [method, path, init, label] of requests) {
    const response = await fetch(base + path, { method, ...init });
    const text = await response.text();
    console.log(`${method} ${path}${label ? ` (${label})` : ''} -> ${response.status} ${text}`);
  }

  await app.close();
  await pool.close();
  for (const b of backends) b.close();
  console.log('done');
}

await main();
