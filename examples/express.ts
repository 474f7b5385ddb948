/**
 * switchyard's proxy inside an Express 5 app.
 *
 * Two backends listen on 127.0.0.1 and answer with what they received. The app serves
 * `/health` itself, mounts the proxy at `/api` (before any body parser, so request bodies
 * stream through untouched), and has an `/orders` route that parses JSON with
 * `express.json()`, validates it, and only then hands the request to the proxy, which
 * forwards the parsed `req.body`. The example sends a few requests, prints what came back,
 * closes everything and exits.
 *
 * Run (in a clone, after `npm ci`): npm run example examples/express.ts
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Pool, RoundRobin } from 'switchyard';
import { createProxyHandler } from 'switchyard/http';

/** A backend answering with its name, the method, path and body it received. */
async function backend(name: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      res.setHeader('content-type', 'text/plain');
      res.end(`${name} got ${req.method} ${req.url}${body === '' ? '' : ` ${body}`}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function urlOf(server: http.Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const backends = [await backend('a'), await backend('b')];
const pool = new Pool({
  endpoints: backends.map(urlOf),
  // In order, from the first endpoint: the output is the same on every run.
  selector: new RoundRobin({ random: () => 0 }),
});
const proxy = createProxyHandler(pool, { retry: { attempts: 2 } });

const app = express();
app.get('/health', (_req, res) => {
  res.json({ ok: true });
});
// Mounted before any body parser: bodies stream to the endpoint as they arrive, and Express
// strips the mount path (`/api/users` reaches the endpoint as `/users`).
app.use('/api', proxy);
// A parser ran first: the stream is spent, so the proxy forwards `req.body` (re-encoded as
// JSON, with a new Content-Length) instead of an empty body.
app.post(
  '/orders',
  express.json(),
  (req: Request, res: Response, next: NextFunction) => {
    const order = req.body as { item?: unknown; quantity?: unknown } | undefined;
    if (typeof order?.item !== 'string' || typeof order.quantity !== 'number') {
      res.status(400).json({ error: 'an order needs an item and a quantity' });
      return;
    }
    next();
  },
  proxy,
);

const server = http.createServer(app);
server.on('upgrade', proxy.upgrade); // WebSocket upgrades go through the same pool
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = urlOf(server);

console.log(`backends: a ${urlOf(backends[0]!)}, b ${urlOf(backends[1]!)}`);
const requests: [method: string, path: string, body?: string, type?: string][] = [
  ['GET', '/health'],
  ['GET', '/api/users?page=2'],
  ['GET', '/api/users/7'],
  ['POST', '/api/upload', 'streamed through as is', 'text/plain'],
  ['POST', '/orders', '{"item":"book","quantity":2}', 'application/json'],
  ['POST', '/orders', '{"item":"book"}', 'application/json'],
];
for (const [method, path, body, type] of requests) {
  const response = await fetch(base + path, {
    method,
    ...(body === undefined ? {} : { body, headers: { 'content-type': type ?? 'text/plain' } }),
  });
  console.log(`${method} ${path} -> ${response.status} ${await response.text()}`);
}

await new Promise<void>((resolve) => {
  server.close(() => resolve());
  server.closeIdleConnections();
});
await proxy.close();
await pool.close();
for (const b of backends) b.close();
console.log('done');
