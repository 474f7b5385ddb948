import express from 'express';
import { describe, expect, it } from 'vitest';
import { createProxyHandler } from '../../src/http/index.js';
import { echoOnce, upgradeBackend, upgradeRequest } from '../http/proxy/upgrade-support.js';
import {
  eventually,
  failOnProcessProblems,
  makePool,
  refusedUrl,
  send,
} from '../http/proxy-support.js';
import {
  abandonRequest,
  type Described,
  describingBackend,
  hashingBackend,
  serve,
  sha256,
  silentBackend,
  streamedPost,
  uploadChunks,
} from './framework-support.js';

failOnProcessProblems();

function proxyFor(urls: readonly string[], options?: Parameters<typeof createProxyHandler>[1]) {
  const pool = makePool(urls);
  const proxy = createProxyHandler(pool, options);
  return { pool, proxy };
}

describe('Express 5', () => {
  it('mounts at /api: the mount path is stripped, the query kept, local routes answered', async () => {
    const a = await describingBackend('a');
    const b = await describingBackend('b');
    const { proxy } = proxyFor([a.url, b.url]);
    const app = express();
    app.get('/health', (_req, res) => {
      res.json({ ok: true });
    });
    app.use('/api', proxy);
    const { url } = await serve(app);

    expect(JSON.parse((await send(url, { path: '/health' })).body)).toEqual({ ok: true });
    const first = JSON.parse((await send(url, { path: '/api/users?page=2' })).body) as Described;
    expect(first).toMatchObject({ backend: 'a', method: 'GET', url: '/users?page=2' });
    const second = JSON.parse((await send(url, { path: '/api' })).body) as Described;
    expect(second).toMatchObject({ backend: 'b', url: '/' });
    expect((await send(url, { path: '/elsewhere' })).status).toBe(404);
    expect(a.requests.length + b.requests.length).toBe(2);
  });

  it('puts a prefix back from the endpoint URL path', async () => {
    const a = await describingBackend('a');
    const { proxy } = proxyFor([`${a.url}/v1`]);
    const app = express();
    app.use('/api', proxy);
    const { url } = await serve(app);
    const reply = JSON.parse((await send(url, { path: '/api/users/7?x=1' })).body) as Described;
    expect(reply.url).toBe('/v1/users/7?x=1');
  });

  it('streams a POST body to the endpoint while the client is still sending it', async () => {
    const backend = await hashingBackend();
    const { proxy } = proxyFor([backend.url]);
    const app = express();
    app.use('/api', proxy);
    const { url } = await serve(app);
    const upload = uploadChunks(1024 * 1024);
    const reply = await streamedPost(`${url}/api/upload`, upload, () => backend.received() > 0, {
      'content-type': 'application/octet-stream',
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({
      bytes: 1024 * 1024,
      sha256: sha256(Buffer.concat(upload)),
    });
    expect(backend.requests[0]!.headers['transfer-encoding']).toBe('chunked');
  });

  it('forwards the body express.json() consumed from req.body, not an empty body', async () => {
    const a = await describingBackend('a');
    const { proxy } = proxyFor([a.url]);
    const app = express();
    app.use('/orders', express.json(), proxy);
    const { url } = await serve(app);
    const body = '{ "item": "book",\n  "quantity": 2 }';
    const reply = await send(url, {
      method: 'POST',
      path: '/orders',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(reply.status).toBe(200);
    const seen = a.requests[0]!;
    const forwarded = '{"item":"book","quantity":2}';
    expect(seen.body.toString()).toBe(forwarded);
    expect(seen.headers['content-length']).toBe(String(forwarded.length));
    expect(seen.headers['content-type']).toBe('application/json');
    expect((JSON.parse(reply.body) as Described).bytes).toBe(forwarded.length);
  });

  it('forwards a flat form express.urlencoded() consumed; refuses a nested one with 500', async () => {
    const a = await describingBackend('a');
    const { pool, proxy } = proxyFor([a.url]);
    const app = express();
    app.use('/flat', express.urlencoded({ extended: false }), proxy);
    app.use('/nested', express.urlencoded({ extended: true }), proxy);
    const { url } = await serve(app);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const flat = await send(url, {
      method: 'POST',
      path: '/flat',
      body: 'a=1&b=two+words',
      headers: form,
    });
    expect(flat.status).toBe(200);
    expect(a.requests[0]!.body.toString()).toBe('a=1&b=two+words');
    const nested = await send(url, {
      method: 'POST',
      path: '/nested',
      body: 'a[b]=1',
      headers: form,
    });
    expect(nested.status).toBe(500);
    expect(nested.body).toMatch(/body/i);
    expect(a.requests).toHaveLength(1);
    expect(pool.snapshot().totals.inflight).toBe(0);
  });

  it('answers 502 through Express when the endpoint is down, 503 when none is eligible', async () => {
    const dead = await refusedUrl();
    const { pool, proxy } = proxyFor([dead]);
    const app = express();
    app.use('/api', proxy);
    const { url } = await serve(app);
    const down = await send(url, { path: '/api/x' });
    expect(down.status).toBe(502);
    expect(down.body).toMatch(/^502 Bad Gateway: .*ECONNREFUSED/);
    pool.remove(dead);
    const none = await send(url, { path: '/api/x' });
    expect(none.status).toBe(503);
    expect(none.body).toMatch(/^503 Service Unavailable/);
    const post = await send(url, { method: 'POST', path: '/api/x', body: 'payload' });
    expect(post.status).toBe(503);
    expect(pool.snapshot().totals.inflight).toBe(0);
  });

  it('releases the lease and the upstream request when the client goes away', async () => {
    const backend = await silentBackend();
    const { pool, proxy } = proxyFor([backend.url]);
    const app = express();
    app.use('/api', proxy);
    const { url } = await serve(app);
    await abandonRequest(`${url}/api/slow`, backend, pool);
    expect(backend.requests[0]!.url).toBe('/slow');
    expect(pool.snapshot().totals.failures).toBe(0);
  });

  it('forwards WebSocket upgrades from the server Express runs on', async () => {
    const ws = await upgradeBackend('a');
    const { pool, proxy } = proxyFor([ws.url]);
    const app = express();
    app.use('/api', proxy);
    // Express does not route upgrades: the server's 'upgrade' event carries the full path.
    const { url } = await serve(app, proxy.upgrade);
    const { res, socket } = await upgradeRequest(`${url}/api/socket`);
    expect(res.statusCode).toBe(101);
    expect(await echoOnce(socket!, 'ping')).toBe('a:ping');
    expect(ws.upgrades.map((r) => r.url)).toEqual(['/api/socket']);
    socket!.destroy();
    await eventually(() => pool.snapshot().totals.inflight === 0);
  });
});
